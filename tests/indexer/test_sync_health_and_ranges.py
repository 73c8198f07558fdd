"""What operators see of the indexer (sync status, health, metrics) and its adaptive range."""

from __future__ import annotations

import pytest

from blockchain.chain.client import RpcError, get_web3
from blockchain.indexing.indexer import Indexer
from blockchain.indexing.reconcile import run_reconcile
from blockchain.models import ChainSyncState
from blockchain.outbox.confirmer import confirm_pending
from tests.indexer.helpers import store_loan

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


def test_sync_status_is_for_operators_and_compliance(contracts, auth_client, api_client):
    assert api_client.get("/api/blockchain/sync/").status_code == 401
    for role in ("investor", "issuer", "institution"):
        assert auth_client(role).get("/api/blockchain/sync/").status_code == 403, role
    assert auth_client("compliance").get("/api/blockchain/sync/").status_code == 200


def test_sync_status_reports_lag_signer_outbox_and_reconcile_without_calling_the_chain(
    contracts, auth_client, django_assert_max_num_queries
):
    store_loan(contracts["LoanRegistry"])
    Indexer().run()
    confirm_pending()  # refreshes the cached head and signer balance
    run_reconcile()
    store_loan(contracts["LoanRegistry"])  # one block the indexer has not seen yet
    client = auth_client("operator")
    from blockchain.chain.metrics import RPC_CALLS

    calls_before = sum(s.value for m in RPC_CALLS.collect() for s in m.samples if s.name.endswith("_total"))
    body = client.get("/api/blockchain/sync/").json()
    calls_after = sum(s.value for m in RPC_CALLS.collect() for s in m.samples if s.name.endswith("_total"))
    assert calls_after == calls_before, "the sync endpoint must not call the chain"
    assert body["chain_id"] == 31337
    assert body["indexed_block"] == ChainSyncState.objects.get().indexed_block
    assert body["lag_blocks"] == body["head"] - body["indexed_block"]
    assert body["signer"]["address"] == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    assert float(body["signer"]["balance"]) > 0
    assert set(body["outbox"]) >= {"queued", "sent", "failed"}
    assert body["last_reconcile"]["drift_count"] == 0
    assert body["indexer_error"] == ""


def test_a_failed_indexer_run_is_reported_until_the_next_good_one(contracts, auth_client):
    Indexer().run()
    Indexer.record_failure(ConnectionError("node unreachable"))
    client = auth_client("operator")
    assert client.get("/api/blockchain/sync/").json()["indexer_error"] == "ConnectionError: node unreachable"
    Indexer().run()
    assert client.get("/api/blockchain/sync/").json()["indexer_error"] == ""


def test_healthz_reports_indexer_lag_both_ways(contracts, health_client, settings):
    response = health_client.get("/healthz")
    assert response.status_code == 503
    assert "indexer" in " ".join(response.json()["reasons"])
    Indexer().run()
    response = health_client.get("/healthz")
    assert response.status_code == 200, response.json()
    assert response.json()["checks"]["indexer"]["lag_blocks"] == 0
    settings.HEALTH_MAX_INDEXER_LAG = 2
    get_web3().provider.make_request("anvil_mine", ["0x5"])
    # The indexer does not run; the head moves on without it.
    state = ChainSyncState.objects.get()
    state.head = get_web3().eth.block_number
    state.save()
    response = health_client.get("/healthz")
    assert response.status_code == 503
    assert "blocks behind" in response.json()["checks"]["indexer"]["error"]


def test_metrics_expose_indexer_series(contracts, client):
    store_loan(contracts["LoanRegistry"])
    Indexer().run()
    text = client.get("/metrics").content.decode()
    for series in (
        "indexer_events_total",
        "indexer_chain_head",
        "indexer_indexed_block",
        "indexer_reorgs_total",
    ):
        assert series in text, series


class FakeNode:
    """eth_getLogs that refuses ranges wider than `limit` blocks, like a public RPC."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.spans: list[int] = []


def test_range_halves_when_the_node_says_too_large_and_grows_when_fast(contracts, monkeypatch, settings):
    import blockchain.indexing.indexer as indexer_module

    settings.INDEXER_INITIAL_RANGE = 64
    get_web3().provider.make_request("anvil_mine", ["0x100"])
    node = FakeNode(limit=10)
    real_rpc_call = indexer_module.rpc_call

    def limited(w3, method, params):
        if method == "eth_getLogs":
            span = int(params[0]["toBlock"], 16) - int(params[0]["fromBlock"], 16) + 1
            node.spans.append(span)
            if span > node.limit:
                raise RpcError(method, {"code": -32005, "message": "query returned more than 10000 results"})
        return real_rpc_call(w3, method, params)

    monkeypatch.setattr(indexer_module, "rpc_call", limited)
    indexer = Indexer()
    indexer.run()
    assert node.spans[:4] == [64, 32, 16, 8], "halved on each refusal"
    assert ChainSyncState.objects.get().lag_blocks == 0  # it got through every block anyway

    # A node without limits: the range doubles while calls are fast, up to INDEXER_MAX_RANGE.
    monkeypatch.setattr(indexer_module, "rpc_call", real_rpc_call)
    settings.INDEXER_MAX_RANGE = 512
    get_web3().provider.make_request("anvil_mine", ["0x400"])
    indexer.run()
    assert indexer.range == 512
