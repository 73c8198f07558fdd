"""The indexer against anvil: direct contract calls, campaign clones, reorgs, rollbacks, drift."""

from __future__ import annotations

import pytest
from eth_utils import keccak

from blockchain.chain.client import get_web3
from blockchain.indexing.indexer import Indexer
from blockchain.indexing.reconcile import run_reconcile
from blockchain.models import ChainEvent, ChainSyncState, IndexedBlock, ReorgRecord, WatchedContract
from tests.indexer.helpers import store_loan
from tests.support.chain import OPERATOR, record_projected, send

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


def live(event_name: str | None = None):
    qs = ChainEvent.objects.filter(removed=False)
    return qs.filter(event_name=event_name) if event_name else qs


def loan_ids() -> set[str]:
    return {e.args["loanId"] for e in live("LoanStored")}


@pytest.fixture
def seen(monkeypatch):
    """LoanStored events projected, and orphaned ones projected again, through the registry."""
    return record_projected(monkeypatch, "LoanRegistry", "LoanStored")


def test_direct_contract_calls_are_indexed_in_one_run(contracts, seen):
    ids = {store_loan(contracts["LoanRegistry"]) for _ in range(3)}
    report = Indexer().run()
    assert loan_ids() == ids
    assert {e.args["loanId"] for e in seen["stored"]} == ids
    state = ChainSyncState.objects.get()
    assert state.indexed_block == report.head == get_web3().eth.block_number
    assert state.lag_blocks == 0
    # the deployments' own events were indexed from their deployment blocks too
    assert live("RoleGranted").exists()


def test_running_again_adds_nothing(contracts, seen):
    store_loan(contracts["LoanRegistry"])
    Indexer().run()
    count = ChainEvent.objects.count()
    report = Indexer().run()
    assert report.events == 0
    assert ChainEvent.objects.count() == count
    assert len(seen["stored"]) == 1


def test_campaign_clone_is_discovered_and_its_events_indexed_in_the_same_run(contracts):
    issuer = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
    send(contracts["IssuerRegistry"], "IssuerRegistry", "registerIssuer", issuer, b"\x01" * 32, "ipfs://kyb")
    ref = keccak(text="campaign-clone-test")
    deadline = get_web3().eth.get_block("latest")["timestamp"] + 30 * 86400
    send(contracts["CampaignFactory"], "CampaignFactory", "createCampaign", ref, issuer, 1000, 2000, deadline)
    campaign = get_web3().eth.call(
        {
            "to": contracts["CampaignFactory"],
            "data": "0x" + _encode("CampaignFactory", "campaignOf", ref).hex(),
        }
    )
    campaign_address = get_web3().to_checksum_address(campaign[-20:])
    send(campaign_address, "Campaign", "recordInvestment", OPERATOR, 500, keccak(text="inv-1"))

    Indexer().run()
    watched = WatchedContract.objects.get(address=campaign_address, active=True)
    assert watched.artifact == "Campaign"
    (recorded,) = live("InvestmentRecorded")
    assert recorded.contract_address == campaign_address
    assert recorded.args["amount"] == 500 and recorded.args["raised"] == 500
    assert watched.next_block == get_web3().eth.block_number + 1


def _encode(artifact: str, function: str, *args) -> bytes:
    from blockchain.chain.abi import interface

    return interface(artifact).encode_call(function, list(args))


def test_reorg_depth_3_dropping_ours_and_adding_a_foreign_tx(contracts, chain, seen):
    registry_address = contracts["LoanRegistry"]
    # A foreign transaction (another operator's) will land in the replacement blocks instead.
    foreign_id = "FOREIGN-1"
    foreign = _foreign_store_loan_raw(registry_address, foreign_id)
    keep = store_loan(registry_address)
    dropped = [store_loan(registry_address) for _ in range(3)]  # the last three blocks
    Indexer().run()
    assert loan_ids() == {keep, *dropped}

    chain.rpc("anvil_reorg", 3, [[foreign, 1]])

    report = Indexer().run()
    assert report.reorg_fork is not None
    assert loan_ids() == {keep, foreign_id}
    assert set(
        ChainEvent.objects.filter(removed=True, event_name="LoanStored").values_list(
            "args__loanId", flat=True
        )
    ) == set(dropped)
    assert {e.args["loanId"] for e in seen["removed"]} == set(dropped)
    record = ReorgRecord.objects.get()
    assert record.events_removed >= 3
    assert run_reconcile().drift_count == 0


def _foreign_store_loan_raw(registry_address: str, loan_id: str) -> str:
    """storeLoan signed by a second operator key, as raw bytes for anvil_reorg."""
    from eth_account import Account

    from blockchain.chain.abi import interface
    from tests.support.chain import BORROWER, LENDER

    w3 = get_web3()
    other = Account.from_key("0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a")  # anvil #2
    role = keccak(text="OPERATOR_ROLE")
    send(registry_address, "LoanRegistry", "grantRole", role, other.address)
    tx = {
        "to": registry_address,
        "data": interface("LoanRegistry").encode_call(
            "storeLoan", [loan_id, keccak(text=loan_id), BORROWER, LENDER]
        ),
        "gas": 300_000,
        "nonce": w3.eth.get_transaction_count(other.address),
        "chainId": w3.eth.chain_id,
        "maxFeePerGas": 50 * 10**9,
        "maxPriorityFeePerGas": 10**9,
    }
    return "0x" + bytes(other.sign_transaction(tx).raw_transaction).hex()


def test_rollback_to_a_shorter_chain_removes_the_lost_events(contracts, chain, seen):
    registry_address = contracts["LoanRegistry"]
    keep = store_loan(registry_address)
    lost = [store_loan(registry_address) for _ in range(2)]
    Indexer().run()
    chain.rpc("anvil_rollback", 2)
    report = Indexer().run()
    assert report.reorg_fork is not None
    assert loan_ids() == {keep}
    assert {e.args["loanId"] for e in seen["removed"]} == set(lost)
    assert ChainSyncState.objects.get().indexed_block == get_web3().eth.block_number
    assert run_reconcile().drift_count == 0


def test_reorg_outside_any_stored_hash_is_still_caught_by_the_range_check(contracts, chain, seen):
    """An event the receipt path stored from a block that was then replaced, before the indexer
    ever saw that block: the range check removes it when the indexer gets there."""
    from blockchain.indexing.events import WatchedAddresses, decode_logs, store_events

    Indexer().run()
    registry_address = contracts["LoanRegistry"]
    tx_hash = send(
        registry_address, "LoanRegistry", "storeLoan", "GHOST-1", keccak(text="GHOST-1"), OPERATOR, OPERATOR
    )
    receipt = chain.rpc("eth_getTransactionReceipt", tx_hash)
    store_events(decode_logs(receipt["logs"], watched=WatchedAddresses(31337)))  # as the confirmer does
    chain.rpc("anvil_reorg", 1, [])
    Indexer().run()
    assert "GHOST-1" not in loan_ids()
    assert ChainEvent.objects.filter(removed=True, args__loanId="GHOST-1").count() == 1
    assert run_reconcile().drift_count == 0


def test_reconcile_reports_drift_when_the_cache_is_tampered_with(contracts):
    store_loan(contracts["LoanRegistry"])
    Indexer().run()
    assert run_reconcile().drift_count == 0
    ChainEvent.objects.filter(event_name="LoanStored").update(block_hash="0x" + "ab" * 32)
    report = run_reconcile()
    assert report.drift_count == 2  # the chain's log is missing, a cached one is not on chain
    assert {d["check"] for d in report.drift} == {"events"}


def test_window_keeps_only_recent_block_hashes(contracts, settings):
    settings.INDEXER_REORG_WINDOW = 5
    get_web3().provider.make_request("anvil_mine", ["0x14"])
    store_loan(contracts["LoanRegistry"])
    report = Indexer().run()
    numbers = list(IndexedBlock.objects.values_list("number", flat=True))
    assert numbers and min(numbers) >= report.head - 5


def test_events_carry_their_blocks_time_even_from_a_node_that_leaves_it_out_of_logs(contracts, monkeypatch):
    from blockchain.chain import client
    from blockchain.indexing import events as events_module
    from blockchain.indexing import indexer as indexer_module

    store_loan(contracts["LoanRegistry"])
    store_loan(contracts["LoanRegistry"])
    real_rpc_call = client.rpc_call

    def older_node(w3, method, params):  # a node from before logs carried blockTimestamp
        result = real_rpc_call(w3, method, params)
        if method == "eth_getLogs":
            for log in result:
                log.pop("blockTimestamp", None)
        return result

    headers_read = []

    def recording_batch(w3, calls, **kwargs):
        headers_read.extend(call for call in calls if call[0] == "eth_getBlockByHash")
        return client.rpc_batch(w3, calls, **kwargs)

    monkeypatch.setattr(indexer_module, "rpc_call", older_node)
    monkeypatch.setattr(events_module, "rpc_batch", recording_batch)
    Indexer().run()
    assert headers_read  # the times came from the headers, one per block
    w3 = get_web3()
    stored = list(live("LoanStored"))
    assert len(stored) == 2
    for event in stored:
        header = w3.eth.get_block(event.block_hash)
        assert event.block_timestamp is not None
        assert int(event.block_timestamp.timestamp()) == header["timestamp"]
