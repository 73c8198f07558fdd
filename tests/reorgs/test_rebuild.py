"""`rebuild_from_chain` on a wiped cache: the same answers, and not one chain write.

The world: a successful campaign with certificates (one moved by its holder on chain), a failed
investment's refund, credentials issued singly and in a batch, one revoked by the platform, one
revoked directly on chain (the case that once made a rebuild send `revokeCredential`), and an
anchored loan.
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from blockchain.chain.client import get_web3
from blockchain.chain.signer import get_signer
from blockchain.models import ChainTransaction
from tests.support.outbox import settle_outbox

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


def answers(clients: dict) -> dict:
    """Every list a frontend reads, as each role sees it (ids, statuses, owners, chain objects)."""
    seen = {}
    for role, client in clients.items():
        for url in (
            "/api/campaigns/",
            "/api/investments/",
            "/api/certificates/",
            "/api/credentials/",
            "/api/loans/",
        ):
            response = client.get(url, {"page_size": 200})
            if response.status_code == 200:
                seen[(role, url)] = response.json()
    return seen


def differences(old, new, path="") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        return [
            d
            for k in sorted(old.keys() | new.keys())
            for d in differences(old.get(k), new.get(k), f"{path}.{k}")
        ]
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [
            d
            for i, (a, b) in enumerate(zip(old, new, strict=True))
            for d in differences(a, b, f"{path}[{i}]")
        ]
    return [] if old == new else [f"{path}: {old!r} -> {new!r}"]


def test_rebuild_reproduces_every_answer_without_an_outbox_row_or_a_nonce(world):
    clients = world["clients"]
    before = answers(clients)
    outbox_rows = list(ChainTransaction.objects.order_by("pk").values_list("pk", "status", "tx_hash"))
    signer = get_signer().address
    nonce = get_web3().eth.get_transaction_count(signer)

    call_command("rebuild_from_chain", "--no-progress", stdout=StringIO(), stderr=StringIO())
    settle_outbox()  # anything a rebuild had queued would be sent now

    assert list(ChainTransaction.objects.order_by("pk").values_list("pk", "status", "tx_hash")) == outbox_rows
    assert get_web3().eth.get_transaction_count(signer) == nonce
    after = answers(clients)
    assert after.keys() == before.keys()
    for key in before:
        assert after[key] == before[key], (
            f"{key} changed after the rebuild: {differences(before[key], after[key])}"
        )
