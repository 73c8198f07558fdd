"""The indexer's fast path for a range with nothing stored yet: hex decoding into events built
without the dataclass constructor, COPY straight into the table while decoding (no ON CONFLICT, no
vanished-event check), the collector paused; and its fallback when a receipt path got there first."""

from __future__ import annotations

import dataclasses
import gc

import pytest
from django.db import transaction

from blockchain.chain.client import get_web3, rpc_call
from blockchain.indexing import events as events_module
from blockchain.indexing import indexer as indexer_module
from blockchain.indexing.events import (
    WatchedAddresses,
    decode_logs,
    range_is_new,
    store_events,
    store_new_range,
)
from blockchain.indexing.indexer import Indexer
from blockchain.indexing.registry import DecodedEvent
from blockchain.models import ChainEvent
from tests.indexer.helpers import mint_batch, store_loan

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

# What COPY's text format must escape and JSON must encode: backslash, quote, tab, newline, non-ASCII.
AWKWARD_ID = 'L\\1 "q" \t tab\nline ünï € 😀 \\u0000x'
COLUMNS = [f.name for f in ChainEvent._meta.fields if f.name not in ("id", "created_at")]


def _logs(contracts) -> list[dict]:
    w3 = get_web3()
    return rpc_call(
        w3,
        "eth_getLogs",
        [{"fromBlock": "0x0", "toBlock": hex(w3.eth.block_number), "address": list(contracts.values())}],
    )


def _rows() -> list[tuple]:
    return list(ChainEvent.objects.order_by("block_number", "log_index").values_list(*COLUMNS))


def test_copy_of_a_new_range_stores_what_the_orm_path_stores(contracts):
    store_loan(contracts["LoanRegistry"], AWKWARD_ID)
    mint_batch(contracts["ShareCertificate"], 3)
    logs = _logs(contracts)
    watched = WatchedAddresses(31337)
    with transaction.atomic():
        copied, new = store_new_range(logs, watched=watched, chunk=4)  # several COPY writes
    assert new
    by_copy = _rows()
    assert len(by_copy) == len(copied) > 10
    assert ChainEvent.objects.get(event_name="LoanStored").args["loanId"] == AWKWARD_ID
    assert all(not row.removed and row.block_timestamp for row in ChainEvent.objects.all())

    ChainEvent.objects.all().delete()
    reference = decode_logs(logs, watched=watched)
    events_module._insert_events(reference)  # the ORM's bulk_create, an independent path
    assert _rows() == by_copy
    assert copied == reference

    ChainEvent.objects.all().delete()
    events_module._copy_events(reference)  # a large batch's path: the same text, temp table, ON CONFLICT
    assert _rows() == by_copy
    ChainEvent.objects.update(removed=True)
    events_module._copy_events(reference)  # an orphaned event the chain has again is live again
    assert _rows() == by_copy


@pytest.mark.django_db(transaction=True)
def test_a_batch_stored_outside_a_transaction_keeps_every_event():
    # In autocommit the temporary table empties itself when the COPY commits: the copy runs in one
    # transaction of its own, or the INSERT that follows would find nothing.
    events = [
        DecodedEvent(
            chain_id=31337,
            address="0x" + "ab" * 20,
            artifact="LoanRegistry",
            name="LoanStored",
            args={"loanId": f"AUTOCOMMIT-{i}"},
            block_number=100 + i,
            block_hash="0x" + f"{i:064x}",
            tx_hash="0x" + f"{i + 1000:064x}",
            log_index=0,
            block_timestamp=1_700_000_000 + i,
        )
        for i in range(events_module.COPY_THRESHOLD)
    ]
    assert not transaction.get_connection().in_atomic_block
    assert store_events(events) == len(events)
    assert sorted(ChainEvent.objects.values_list("args__loanId", flat=True)) == sorted(
        e.args["loanId"] for e in events
    )


def test_copy_text_matches_the_json_encoder_for_awkward_strings():
    import json

    event = DecodedEvent(
        chain_id=1,
        address="0x" + "ab" * 20,
        artifact="A",
        name="E",
        args={"s": AWKWARD_ID, "n": 2**255, "b": True, "z": None},
        block_number=7,
        block_hash="0x" + "11" * 32,
        tx_hash="0x" + "22" * 32,
        log_index=3,
        block_timestamp=None,
    )
    line = events_module.copy_text([event], suffix="\tf")
    fields = line.rstrip("\n").split("\t")
    assert len(fields) == 11 and fields[-2] == "\\N" and fields[-1] == "f"
    # COPY reads "\\" as one backslash: what it reads back is json.dumps's text
    assert json.loads(fields[4].replace("\\\\", "\\")) == event.args
    assert fields[4].replace("\\\\", "\\") == json.dumps(event.args)


def test_a_log_stored_meanwhile_sends_the_range_through_on_conflict(contracts):
    store_loan(contracts["LoanRegistry"])
    logs = _logs(contracts)
    watched = WatchedAddresses(31337)
    store_events(decode_logs(logs[-1:], watched=watched))  # as the confirmer does, before the COPY
    with transaction.atomic():
        stored, new = store_new_range(logs, watched=watched, chunk=3)
    assert not new
    assert len(stored) == len(logs)
    assert ChainEvent.objects.count() == len(logs)  # each log once, none lost with the COPY


def test_range_is_new_sees_any_stored_row_of_its_blocks(contracts):
    store_loan(contracts["LoanRegistry"])
    logs = _logs(contracts)
    block = int(logs[-1]["blockNumber"], 16)
    assert range_is_new(31337, 0, block)
    store_events(decode_logs(logs[-1:], watched=WatchedAddresses(31337)))
    assert not range_is_new(31337, 0, block)
    assert not range_is_new(31337, block, block)
    assert range_is_new(31337, block + 1, block + 100)
    assert range_is_new(1, 0, block)  # another chain's rows are not this chain's
    ChainEvent.objects.update(removed=True)  # an orphaned row must be revived, not copied again
    assert not range_is_new(31337, block, block)


def test_a_first_run_copies_without_conflict_handling_or_vanished_check(contracts, monkeypatch):
    calls = []
    monkeypatch.setattr(indexer_module, "store_events", lambda events: calls.append("store_events"))
    monkeypatch.setattr(Indexer, "_drop_vanished", lambda self, *a: calls.append("vanished") or 0)
    loan = store_loan(contracts["LoanRegistry"])
    report = Indexer().run()
    assert calls == []
    assert report.events == ChainEvent.objects.count() > 0
    assert ChainEvent.objects.filter(event_name="LoanStored", args__loanId=loan).exists()


def test_a_range_with_stored_rows_still_gets_both(contracts, monkeypatch):
    Indexer().run()
    store_loan(contracts["LoanRegistry"])
    logs = _logs(contracts)
    store_events(decode_logs(logs[-1:], watched=WatchedAddresses(31337)))  # the receipt path's row
    calls = []
    original = Indexer._drop_vanished
    monkeypatch.setattr(
        Indexer, "_drop_vanished", lambda self, *a: calls.append("vanished") or original(self, *a)
    )
    Indexer().run()
    assert calls == ["vanished"]


def test_decoded_events_are_what_the_constructor_makes(contracts):
    store_loan(contracts["LoanRegistry"], AWKWARD_ID)
    decoded = decode_logs(_logs(contracts), watched=WatchedAddresses(31337), transaction_id=5)
    assert decoded
    for event in decoded:
        fields = {f.name: getattr(event, f.name) for f in dataclasses.fields(DecodedEvent)}
        assert vars(event) == fields  # every field, nothing else
        twin = DecodedEvent(**fields)
        assert event == twin
        assert dataclasses.replace(event, block_timestamp=1).block_timestamp == 1
        with pytest.raises(dataclasses.FrozenInstanceError):
            event.name = "x"
    assert {e.transaction_id for e in decoded} == {5}


def test_the_collector_is_paused_while_a_range_is_fetched_and_applied_and_resumed_after(
    contracts, monkeypatch
):
    store_loan(contracts["LoanRegistry"])
    enabled = []
    original = indexer_module.project_touched
    monkeypatch.setattr(
        indexer_module, "project_touched", lambda events: enabled.append(gc.isenabled()) or original(events)
    )
    fetching = []
    original_fetch = Indexer._get_logs
    monkeypatch.setattr(
        Indexer, "_get_logs", lambda self, *a: fetching.append(gc.isenabled()) or original_fetch(self, *a)
    )
    assert gc.isenabled()
    Indexer().run()
    assert enabled and not any(enabled)
    assert fetching and not any(fetching)  # the JSON parsing of the logs too
    assert gc.isenabled()

    def boom(events):
        raise RuntimeError("projection failed")

    monkeypatch.setattr(indexer_module, "project_touched", boom)
    ChainEvent.objects.all().delete()
    from blockchain.models import WatchedContract

    WatchedContract.objects.update(next_block=None)
    with pytest.raises(RuntimeError):
        Indexer().run()
    assert gc.isenabled()
    gc.disable()  # a caller that runs without the collector keeps it that way
    try:
        with indexer_module.paused_gc():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_window_hashes_come_from_every_live_raw_log_of_the_window():
    from blockchain.indexing.indexer import _window_hashes

    logs = [
        {"blockNumber": "0x9", "blockHash": "0x09"},
        {"blockNumber": "0xa", "blockHash": "0x0a"},
        {"blockNumber": "0xa", "blockHash": "0x0a"},
        {"blockNumber": "0xb", "blockHash": "0xold", "removed": True},
        {"blockNumber": "0xc", "blockHash": "0x0c"},  # an event no ABI knows still names its block
    ]
    assert _window_hashes(logs, 10) == {10: "0x0a", 12: "0x0c"}
    assert _window_hashes(logs, 0) == {9: "0x09", 10: "0x0a", 12: "0x0c"}
    assert _window_hashes([], 0) == {}
