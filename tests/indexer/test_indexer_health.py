"""/healthz answers 503 while the indexer fails on every run or its cursor is past the chain head."""

from __future__ import annotations

import pytest

from blockchain.indexing.indexer import Indexer
from blockchain.models import ChainSyncState
from blockchain.state import remember_head

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


def indexer_check(health_client) -> tuple[int, dict]:
    response = health_client.get("/healthz")
    return response.status_code, response.json()["checks"]["indexer"]


def test_a_failing_indexer_turns_health_to_503_without_showing_the_exception(contracts, health_client):
    Indexer().run()
    assert indexer_check(health_client)[0] == 200
    Indexer.record_failure(RuntimeError("rewind violated live_campaign_has_contract at http://node:8545/KEY"))
    status, check = indexer_check(health_client)
    assert status == 503 and check["ok"] is False
    assert check["error"] == "the indexer's last run failed"
    assert "KEY" not in health_client.get("/healthz").content.decode()
    Indexer().run()  # a good run clears the failure
    assert indexer_check(health_client)[0] == 200


def test_a_cursor_ahead_of_the_chain_head_is_503_and_names_the_command(contracts, health_client):
    Indexer().run()
    state = ChainSyncState.objects.get()
    remember_head(state.indexed_block)
    assert indexer_check(health_client)[0] == 200
    remember_head(max(0, state.indexed_block - 10))  # the node was reset under the platform
    status, check = indexer_check(health_client)
    assert status == 503 and check["ok"] is False
    assert "rebuild_from_chain" in check["error"]
