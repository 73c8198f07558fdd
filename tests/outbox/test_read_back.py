"""The sender's read-back: receipts that exist right after a batch's broadcast are applied by the
worker that sent it (confirmer.confirm_landed), alongside the confirmer's pass, each receipt once."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection
from prometheus_client import REGISTRY

from blockchain.chain.client import get_web3, rpc_call
from blockchain.models import AttemptStatus, ChainEvent, ChainTransaction, TxAttempt, TxStatus
from blockchain.outbox import confirmer, sender
from blockchain.outbox.confirmer import ConfirmReport, confirm_landed, confirm_pending
from blockchain.outbox.sender import send_queued
from blockchain.outbox.tasks import send_outbox
from tests.outbox.helpers import enqueue_store_loan
from tests.support.chain import record_projected
from tests.support.outbox import confirm_mined, wait_for_receipts

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


@pytest.fixture
def stored_events(monkeypatch):
    """Every LoanStored event the registry projects."""
    return record_projected(monkeypatch, "LoanRegistry", "LoanStored")["stored"]


def _mined(rows: list[ChainTransaction]) -> None:
    for row in rows:
        row.refresh_from_db()
    wait_for_receipts([row.tx_hash for row in rows])


def test_the_sender_task_confirms_what_has_landed_without_a_confirmer_pass(
    contracts, stored_events, monkeypatch
):
    read_back = []

    def once_mined(rows):  # the task's own read-back, after the node has mined the batch
        _mined(rows)
        report = confirm_landed(rows)
        read_back.append(report)
        return report

    monkeypatch.setattr(confirmer, "confirm_landed", once_mined)
    rows = [enqueue_store_loan() for _ in range(3)]

    send_outbox()

    assert [r.confirmed for r in read_back] == [3]
    for row in rows:
        row.refresh_from_db()
        assert row.status == TxStatus.CONFIRMED
        assert row.block_hash and row.gas_used > 21_000 and row.confirmed_at
        assert TxAttempt.objects.get(transaction=row).status == AttemptStatus.MINED
    assert sorted(e.transaction_id for e in stored_events) == sorted(row.pk for row in rows)


@pytest.fixture
def receipt_lookups(monkeypatch):
    """The hashes of each receipt batch the read-back asks for; `hide` names hashes whose receipt the
    node does not show yet on the first ask (the rest of the batch is still being mined)."""
    asked: list[list[str]] = []
    hide: set[str] = set()
    real = confirmer.receipts_of

    def looking(w3, hashes):
        results = real(w3, hashes)
        if hashes:
            first = not asked
            asked.append(list(hashes))
            if first:
                results = [None if h in hide else r for h, r in zip(hashes, results, strict=True)]
        return results

    monkeypatch.setattr(confirmer, "receipts_of", looking)
    return asked, hide


def test_rows_without_a_receipt_yet_are_left_sent_for_the_pass(
    contracts, chain, stored_events, receipt_lookups
):
    asked, _hide = receipt_lookups
    chain.set_automine(False)
    try:
        row = enqueue_store_loan()
        seen = []
        send_queued(on_broadcast=lambda rows: seen.append(confirm_landed(rows)))
        (report,) = seen
        assert (report.checked, report.mined, report.confirmed) == (1, 0, 0)
        assert len(asked) == 1, "a batch the node is not mining is not asked about again"
        row.refresh_from_db()
        assert row.status == TxStatus.SENT
    finally:
        chain.set_automine(True)
    chain.mine(1)
    confirm_mined()
    row.refresh_from_db()
    assert row.status == TxStatus.CONFIRMED
    assert len(stored_events) == 1


def test_a_batch_the_node_is_still_mining_is_looked_at_again_for_the_rest(
    contracts, stored_events, receipt_lookups
):
    asked, hide = receipt_lookups
    rows = [enqueue_store_loan() for _ in range(3)]
    send_queued()
    _mined(rows)
    hide.add(rows[2].tx_hash)

    report = confirm_landed(rows)

    assert asked == [[row.tx_hash for row in rows], [rows[2].tx_hash]]
    assert (report.checked, report.confirmed) == (3, 3)
    assert sorted(e.transaction_id for e in stored_events) == sorted(row.pk for row in rows)


def test_a_receipt_read_back_twice_and_then_seen_by_a_pass_is_applied_once(contracts, stored_events):
    row = enqueue_store_loan()
    send_queued()
    _mined([row])

    stale = ChainTransaction.objects.get(pk=row.pk)  # what a pass read before the read-back ran
    assert stale.status == TxStatus.SENT
    receipt = rpc_call(get_web3(), "eth_getTransactionReceipt", [row.tx_hash])  # as the confirmer reads it
    first = confirm_landed([row])
    again = confirm_landed([row])
    late = ConfirmReport()
    confirmer._apply_receipts(
        [(stale, TxAttempt.objects.get(transaction=row), receipt)],
        head=int(receipt["blockNumber"], 16),
        w3=get_web3(),
        report=late,
    )

    assert (first.mined, first.confirmed) == (1, 1)
    assert (again.mined, again.confirmed) == (0, 0)
    assert (late.mined, late.confirmed) == (0, 0)
    assert len(stored_events) == 1
    row.refresh_from_db()
    assert ChainEvent.objects.filter(tx_hash=row.tx_hash, event_name="LoanStored").count() == 1


def test_only_the_rows_the_node_accepted_are_read_back(contracts, monkeypatch):
    enqueue_store_loan()
    real = sender.rpc_batch

    def node_down_for_broadcasts(w3, calls):
        if any(method == "eth_sendRawTransaction" for method, _params in calls):
            raise ConnectionError("the node is down")
        return real(w3, calls)

    monkeypatch.setattr(sender, "rpc_batch", node_down_for_broadcasts)
    handed = []
    report = sender.send_queued(on_broadcast=handed.append)

    assert (report.signed, report.sent) == (1, 0)
    assert handed == [], "a batch the node never accepted is not read back"


def test_a_batch_applied_again_row_by_row_is_counted_once(contracts, monkeypatch):
    rows = [enqueue_store_loan() for _ in range(2)]
    send_queued()
    _mined(rows)
    real = confirmer.confirmed_logs
    handed: list[int] = []

    def fails_inside_the_batch(logs):
        handed.append(len(logs))
        if len(handed) == 1:
            raise RuntimeError("a projection failed inside the batch's transaction")
        return real(logs)

    monkeypatch.setattr(confirmer, "confirmed_logs", fails_inside_the_batch)
    before = _transitions("confirmed")

    report = confirm_landed(rows)

    assert handed == [2, 1, 1], "the batch rolled back, then each row in a transaction of its own"
    assert report.confirmed == 2
    assert _transitions("confirmed") - before == 2


def _transitions(status: str) -> float:
    return REGISTRY.get_sample_value("outbox_transitions_total", {"status": status}) or 0.0


def test_with_confirmations_the_read_back_leaves_the_row_mined_and_the_pass_confirms_it(
    contracts, chain, stored_events, settings
):
    settings.CHAIN_CONFIRMATIONS = 2
    row = enqueue_store_loan()
    send_queued()
    _mined([row])
    chain.mine(3)  # deep enough already; the read-back only knows its receipts' own blocks

    report = confirm_landed([row])

    row.refresh_from_db()
    assert (report.mined, report.confirmed, row.status) == (1, 0, TxStatus.MINED)
    assert stored_events == [], "handlers wait for the confirmation"
    confirm_pending()
    row.refresh_from_db()
    assert row.status == TxStatus.CONFIRMED
    assert len(stored_events) == 1


def test_a_read_back_that_raises_leaves_the_batch_sent_for_the_pass(contracts, stored_events):
    row = enqueue_store_loan()

    def broken(rows):
        raise ConnectionError("the node went away after the broadcast")

    report = send_queued(on_broadcast=broken)

    assert (report.sent, report.failed) == (1, 0)
    row.refresh_from_db()
    assert row.status == TxStatus.SENT
    confirm_mined()
    row.refresh_from_db()
    assert row.status == TxStatus.CONFIRMED
    assert len(stored_events) == 1


# Commits for real so another connection can lock the row; the kick goes to a broker of its own.
@pytest.mark.django_db(transaction=True)
def test_a_pass_skips_a_row_another_process_is_applying_and_takes_it_next_pass(contracts, isolated_broker):
    row = enqueue_store_loan()
    send_queued()
    _mined([row])
    params = connection.get_connection_params()
    with psycopg.connect(
        **{k: v for k, v in params.items() if k in ("dbname", "user", "host", "port", "password")}
    ) as other:
        other.execute("SELECT id FROM blockchain_chaintransaction WHERE id = %s FOR UPDATE", [row.pk])
        with connection.cursor() as cursor:  # a pass that waited for the lock fails instead of hanging
            cursor.execute("SET lock_timeout = '5s'")
        try:
            held = confirm_pending()
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout")
        row.refresh_from_db()
        assert (held.confirmed, held.errors, row.status) == (0, [], TxStatus.SENT)
        other.rollback()
    taken = confirm_pending()
    row.refresh_from_db()
    assert (taken.confirmed, row.status) == (1, TxStatus.CONFIRMED)
