"""With the cache's Redis unreachable (a real connection refused, from redis-py), the reads that use
it as an optimisation still answer from the truth: verification from the chain, confirmations as
unknown, balances from the rows or the chain; the dead server is asked once per pause, not by every
request; and the balances' invalidation, which must not be lost, raises."""

from __future__ import annotations

import pytest
import redis
from django.test import override_settings
from eth_account import Account
from eth_utils import keccak

from blockchain import state
from blockchain.chain.abi import bytes32_from_hex
from blockchain.chain.bindings import bound
from core import cache as best_effort_cache
from core.redis import RETRY_OPTIONS, connect
from credentials.fingerprints import fingerprint_of, type_hash
from tests.support.chain import send
from tests.support.outbox import settle_outbox
from wallets import balances

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

DEAD_PORT = 1
SUBJECT = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"


@pytest.fixture
def connects(monkeypatch) -> list[int]:
    """The ports redis-py connects to while the test runs."""
    attempts: list[int] = []
    real_connect = redis.connection.Connection._connect
    monkeypatch.setattr(
        redis.connection.Connection, "_connect", lambda self: attempts.append(self.port) or real_connect(self)
    )
    return attempts


@pytest.fixture
def dead_cache(monkeypatch):
    """Django's default cache on a Redis nobody listens on; the pause and the head memo start clear."""
    monkeypatch.setattr(best_effort_cache._paused, "until", 0.0)
    monkeypatch.setattr(state, "_head_memo", [None, 0.0])
    dead = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{DEAD_PORT}/0",
            "OPTIONS": dict(RETRY_OPTIONS),
        }
    }
    with override_settings(CACHES=dead):
        yield
    best_effort_cache.resume()


def _issued_outside_the_platform(institution_address: str) -> dict:
    doc = {"issued": "outside the platform", "n": Account.create().address}
    request = (
        institution_address,
        SUBJECT,
        type_hash("diploma"),
        bytes32_from_hex(fingerprint_of(doc)),
        keccak(text=doc["n"]),
        0,
    )
    send(bound("CredentialVault").address, "CredentialVault", "issueCredential", request)
    return doc


def test_chain_verification_answers_while_the_cache_is_down(institution, api_client, dead_cache, connects):
    row, _ = institution
    doc = _issued_outside_the_platform(row.address)
    for _ in range(3):
        response = api_client.post("/api/blockchain/verify/", {"document": doc}, format="json")
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["valid"] is True and body["source"] == "chain"
    # The first request met the outage (two connects: core.redis's bounded retry); the others and
    # the skipped writes did not ask the dead server during the pause.
    assert [port for port in connects if port == DEAD_PORT] == [DEAD_PORT] * 2


def test_confirmations_are_unknown_not_an_error_while_the_cache_is_down(institution, operator, dead_cache):
    row, client = institution
    response = client.post(
        "/api/credentials/issue/",
        {
            "institution": row.address,
            "subject_wallet": SUBJECT,
            "credential_type": "diploma",
            "document": {"name": "Alice", "n": 1},
        },
        format="json",
    )
    assert response.status_code == 202, response.content
    with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}):
        settle_outbox()  # the confirmer needs a cache to remember the head; here a working one
    state._head_memo[:] = [None, 0.0]
    detail = operator.get(f"/api/credentials/{response.json()['id']}/")
    assert detail.status_code == 200, detail.content
    chain = detail.json()["chain"]
    assert chain["status"] == "confirmed" and chain["block_number"] is not None
    assert chain["confirmations"] is None  # the head is unknown while the cache is down


def test_balances_answer_from_the_chain_and_invalidation_raises(contracts, monkeypatch, connects):
    monkeypatch.setattr(best_effort_cache._paused, "until", 0.0)
    dead = connect(f"redis://127.0.0.1:{DEAD_PORT}/0")
    monkeypatch.setattr(balances, "get_redis", lambda: dead)
    address = Account.create().address
    views = balances.get_balances(address)
    assert views and all(view.source == "chain" and view.base_units == 0 for view in views)
    assert balances.get_balances(address)  # the rows written by the first read answer now
    with pytest.raises(redis.exceptions.ConnectionError):
        balances.mark_stale({(address, views[0].asset)})
    best_effort_cache.resume()
