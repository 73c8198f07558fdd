"""The write path in-process against anvil: enqueue -> send -> confirm -> handlers, and its failure modes."""

from __future__ import annotations

import gc
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import override_settings
from eth_utils import keccak

from blockchain.chain.bindings import bound
from blockchain.chain.client import get_web3
from blockchain.chain.signer import get_signer
from blockchain.models import (
    AttemptStatus,
    ChainEvent,
    ChainTransaction,
    NonceAccount,
    TxAttempt,
    TxStatus,
)
from blockchain.outbox import enqueue as outbox
from blockchain.outbox import hooks
from blockchain.outbox.confirmer import confirm_pending
from blockchain.outbox.sender import send_queued
from tests.outbox.helpers import enqueue_store_loan, unique_loan_id
from tests.support.chain import BORROWER, LENDER, record_projected
from tests.support.outbox import confirm_mined

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


@pytest.fixture
def handled(monkeypatch):
    """Records every LoanStored event the registry projects, and failed rows compensated."""
    projected = record_projected(monkeypatch, "LoanRegistry", "LoanStored")
    seen: dict[str, list] = {"events": projected["stored"], "compensated": []}

    def on_failed(tx):
        seen["compensated"].append((tx.pk, tx.error_code))

    monkeypatch.setitem(hooks._failure_hooks, "test.store_loan", [on_failed])
    return seen


@pytest.mark.django_db(transaction=True)
def test_enqueue_outside_a_transaction_is_refused(contracts):
    with pytest.raises(outbox.OutboxError, match="inside"):
        outbox.enqueue(
            kind="test.store_loan",
            contract="LoanRegistry",
            function="storeLoan",
            args=["X-1", b"\x01" * 32, BORROWER, LENDER],
            idempotency_key="k-outside",
        )


def test_same_idempotency_key_gives_the_same_row(contracts):
    first = enqueue_store_loan("IDEM-1")
    again = enqueue_store_loan("IDEM-1")
    assert first.pk == again.pk
    assert ChainTransaction.objects.filter(idempotency_key="test:store:IDEM-1").count() == 1


def test_bad_arguments_fail_at_enqueue_and_nothing_is_stored(contracts):
    with pytest.raises(Exception), transaction.atomic():
        outbox.enqueue(
            kind="test.store_loan",
            contract="LoanRegistry",
            function="storeLoan",
            args=["X-2", "not-bytes32", BORROWER],
            idempotency_key="k-bad",
        )
    assert not ChainTransaction.objects.filter(idempotency_key="k-bad").exists()


def test_intent_is_signed_sent_confirmed_and_its_event_handled(contracts, handled):
    loan_id = unique_loan_id()
    row = enqueue_store_loan(loan_id)
    assert row.status == TxStatus.QUEUED and row.nonce is None

    report = send_queued()
    assert (report.signed, report.sent, report.failed) == (1, 1, 0)
    row.refresh_from_db()
    assert row.status == TxStatus.SENT
    assert row.raw_tx and row.tx_hash.startswith("0x") and row.nonce is not None

    confirm_mined()
    row.refresh_from_db()
    assert row.status == TxStatus.CONFIRMED
    assert row.block_number and row.block_hash and row.gas_used > 21_000
    assert row.mined_at and row.confirmed_at
    assert TxAttempt.objects.get(transaction=row).status == AttemptStatus.MINED

    (event,) = handled["events"]
    assert event.args["loanId"] == loan_id
    assert event.args["loanHash"] == "0x" + keccak(text=loan_id).hex()
    assert event.args["borrower"] == BORROWER
    assert event.transaction_id == row.pk
    assert ChainEvent.objects.filter(tx_hash=row.tx_hash, event_name="LoanStored").count() == 1
    # and the chain agrees
    exists, loan_hash, *_rest = bound("LoanRegistry").call("getLoan", loan_id)
    assert exists and loan_hash == keccak(text=loan_id)


def test_confirming_twice_does_not_dispatch_twice(contracts, handled):
    enqueue_store_loan()
    send_queued()
    confirm_mined()
    confirm_pending()
    assert len(handled["events"]) == 1


def test_the_collector_is_paused_while_a_batch_is_sent_and_a_pass_confirms_and_resumed_after(
    contracts, monkeypatch
):
    from blockchain.outbox import confirmer, sender

    seen = {}
    for module, name in ((sender, "_claim_and_sign"), (sender, "broadcast"), (confirmer, "_apply_receipts")):
        original = getattr(module, name)

        def recording(*args, _original=original, _name=name, **kwargs):
            seen.setdefault(_name, []).append(gc.isenabled())
            return _original(*args, **kwargs)

        monkeypatch.setattr(module, name, recording)
    enqueue_store_loan()
    assert send_queued().sent == 1
    assert gc.isenabled()
    confirm_mined()
    assert gc.isenabled()
    assert seen["_claim_and_sign"] and seen["broadcast"] and seen["_apply_receipts"]
    assert not any(enabled for calls in seen.values() for enabled in calls)


@pytest.fixture
def row_listener_calls(monkeypatch):
    """Each call the outbox's row listeners get: the ids of the rows it names."""
    calls: list[list[int]] = []
    monkeypatch.setattr(hooks, "_row_listeners", [lambda rows: calls.append([row.pk for row in rows])])
    return calls


# These two commit intents for real; their kicks go to a broker of their own (`isolated_broker`), or
# the session's worker would send them to the shared node after the test's chain snapshot is gone.
@pytest.mark.django_db(transaction=True)
def test_one_transactions_intents_reach_the_row_listeners_in_one_call_after_commit(
    contracts, row_listener_calls, isolated_broker
):
    with transaction.atomic():
        rows = [enqueue_store_loan() for _ in range(3)]
        assert row_listener_calls == []  # not before the commit
    assert row_listener_calls == [[row.pk for row in rows]]


@pytest.mark.django_db(transaction=True)
def test_an_intent_in_a_rolled_back_savepoint_never_reaches_the_row_listeners(
    contracts, row_listener_calls, isolated_broker
):
    with transaction.atomic():
        kept = enqueue_store_loan()
        try:
            with transaction.atomic():
                dropped = enqueue_store_loan()
                raise RuntimeError("the domain change inside the savepoint fails")
        except RuntimeError:
            pass
        also_kept = enqueue_store_loan()
    assert not ChainTransaction.objects.filter(pk=dropped.pk).exists()
    assert row_listener_calls == [[kept.pk, also_kept.pk]]


def test_nonces_are_contiguous_from_the_chain_count(contracts):
    w3 = get_web3()
    signer = get_signer().address
    start = w3.eth.get_transaction_count(signer, "pending")
    rows = [enqueue_store_loan() for _ in range(7)]
    send_queued(batch_size=3)
    nonces = sorted(
        ChainTransaction.objects.filter(pk__in=[r.pk for r in rows]).values_list("nonce", flat=True)
    )
    assert nonces == list(range(start, start + 7))
    assert NonceAccount.objects.get(address=signer).next_nonce == start + 7


def test_simulation_revert_fails_the_row_with_the_custom_error_and_uses_no_nonce(contracts, handled):
    loan_id = unique_loan_id()
    enqueue_store_loan(loan_id)
    send_queued()
    confirm_mined()
    next_nonce = NonceAccount.objects.get().next_nonce

    duplicate = enqueue_store_loan(loan_id, key="second-store")
    report = send_queued()
    duplicate.refresh_from_db()
    assert report.failed == 1
    assert duplicate.status == TxStatus.FAILED
    assert duplicate.error_code == "LoanAlreadyStored"
    assert duplicate.error["args"]["loanKey"] == "0x" + keccak(text=loan_id).hex()
    assert duplicate.nonce is None and not duplicate.raw_tx
    assert NonceAccount.objects.get().next_nonce == next_nonce
    assert handled["compensated"] == [(duplicate.pk, "LoanAlreadyStored")]


def test_onchain_revert_fails_the_row_with_the_decoded_error(contracts, handled, chain):
    # Both simulate fine against the same state; the second reverts once the first is mined.
    chain.set_automine(False)
    loan_id = unique_loan_id()
    first = enqueue_store_loan(loan_id)
    second = enqueue_store_loan(loan_id, key="same-loan-again")
    assert send_queued().signed == 2
    chain.mine(1)
    confirm_pending()
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == TxStatus.CONFIRMED
    assert second.status == TxStatus.FAILED
    assert second.error_code == "LoanAlreadyStored"
    assert second.block_number == first.block_number  # it was mined, and reverted
    assert handled["compensated"] == [(second.pk, "LoanAlreadyStored")]


def _enqueue_repay(loan_id: str, *, ordering_key: str = "") -> ChainTransaction:
    with transaction.atomic():
        return outbox.enqueue(
            kind="test.mark_repaid",
            contract="LoanRegistry",
            function="markRepaid",
            args=[loan_id, keccak(text=f"repaid:{loan_id}")],
            idempotency_key=f"test:repay:{loan_id}",
            ordering_key=ordering_key,
        )


@pytest.fixture
def estimates(monkeypatch):
    """The block every eth_estimateGas the sender sends names (the calls still go to anvil)."""
    from blockchain.outbox import sender

    seen: list[str] = []
    real = sender.rpc_batch

    def recording(w3, calls, **kwargs):
        seen.extend(params[1] for method, params in calls if method == "eth_estimateGas")
        return real(w3, calls, **kwargs)

    monkeypatch.setattr(sender, "rpc_batch", recording)
    return seen


def test_an_intent_behind_its_keys_unmined_one_is_simulated_against_pending(contracts, chain, estimates):
    chain.set_automine(False)
    loan_id = unique_loan_id()
    store = enqueue_store_loan(loan_id)
    assert send_queued().sent == 1  # in anvil's pool, not in a block
    assert estimates == ["latest"]  # nothing of its key was in flight

    repay = _enqueue_repay(loan_id, ordering_key=store.ordering_key)
    report = send_queued()
    assert (report.signed, report.failed) == (1, 0)
    assert estimates == ["latest", "pending"]  # its key's storeLoan is unmined: only pending has the loan

    chain.mine(1)
    confirm_pending()
    for row in (store, repay):
        row.refresh_from_db()
        assert row.status == TxStatus.CONFIRMED
    assert bound("LoanRegistry").call("getLoan", loan_id)[5]  # repaid on chain


def test_a_revert_against_latest_is_checked_against_pending_before_the_row_fails(contracts, chain, estimates):
    """Another key's unmined intent can be what a row builds on: latest refuses it (no such loan
    yet), pending does not, so it is signed, not failed."""
    chain.set_automine(False)
    loan_id = unique_loan_id()
    store = enqueue_store_loan(loan_id)
    send_queued()
    repay = _enqueue_repay(loan_id)  # its own key (the idempotency key)
    assert repay.ordering_key != store.ordering_key

    report = send_queued()
    assert (report.signed, report.failed) == (1, 0)
    assert estimates == ["latest", "latest", "pending"]
    repay.refresh_from_db()
    assert repay.status == TxStatus.SENT and repay.nonce is not None
    chain.mine(1)
    confirm_pending()
    repay.refresh_from_db()
    assert repay.status == TxStatus.CONFIRMED


def test_a_row_refused_against_latest_and_pending_fails_with_no_nonce(contracts, estimates):
    enqueue_store_loan()
    send_queued()
    confirm_mined()
    next_nonce_before = NonceAccount.objects.get().next_nonce
    estimates.clear()

    repay = _enqueue_repay(unique_loan_id("NEVER-STORED"))
    report = send_queued()
    repay.refresh_from_db()
    assert (report.signed, report.failed) == (0, 1)
    assert estimates == ["latest", "pending"]
    assert repay.status == TxStatus.FAILED and repay.error_code == "LoanNotFound"
    assert repay.nonce is None and not repay.raw_tx
    assert NonceAccount.objects.get().next_nonce == next_nonce_before


def test_nonce_used_outside_the_platform_is_recovered(contracts):
    w3 = get_web3()
    signer = get_signer()
    enqueue_store_loan()
    send_queued()  # creates the allocator at the chain's count
    # Someone uses the platform key directly: the allocator's next nonce is now taken.
    nonce = w3.eth.get_transaction_count(signer.address, "pending")
    tx = {
        "to": LENDER,
        "value": 1,
        "gas": 21_000,
        "nonce": nonce,
        "chainId": w3.eth.chain_id,
        "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 10**9,
    }
    w3.eth.send_raw_transaction(signer.sign_transaction(tx).raw_transaction)

    row = enqueue_store_loan()
    report = send_queued()
    assert report.requeued == 1
    send_queued()
    confirm_mined()
    row.refresh_from_db()
    assert row.status == TxStatus.CONFIRMED
    assert row.nonce == nonce + 1
    assert TxAttempt.objects.filter(transaction=row, status=AttemptStatus.DROPPED).count() == 1


def test_stuck_transaction_is_replaced_with_bumped_fees_and_one_version_lands(contracts, chain):
    chain.set_automine(False)
    row = enqueue_store_loan()
    send_queued()
    with override_settings(CHAIN_STUCK_SECONDS=0):
        report = confirm_pending()
    assert report.replaced == 1
    chain.mine(1)
    confirm_pending()
    row.refresh_from_db()
    attempts = list(TxAttempt.objects.filter(transaction=row).order_by("id"))
    assert len(attempts) == 2
    first, second = attempts
    assert first.nonce == second.nonce
    assert second.max_fee_per_gas * 1000 >= first.max_fee_per_gas * 1125
    assert second.max_priority_fee_per_gas * 1000 >= first.max_priority_fee_per_gas * 1125
    assert row.status == TxStatus.CONFIRMED
    assert sorted(a.status for a in attempts) == [AttemptStatus.MINED, AttemptStatus.REPLACED]
    mined = next(a for a in attempts if a.status == AttemptStatus.MINED)
    assert row.tx_hash == mined.tx_hash
    # exactly one of the two versions is on chain
    landed = [a for a in attempts if chain.rpc("eth_getTransactionReceipt", a.tx_hash) is not None]
    assert len(landed) == 1


def test_a_stuck_transaction_is_replaced_though_it_was_rebroadcast_since(contracts, chain, monkeypatch):
    """The stuck clock runs from the version's first broadcast: its re-broadcasts (every 15 s) do not
    restart it, or a version the node keeps unmined would be re-broadcast forever, never replaced."""
    from django.utils import timezone

    chain.set_automine(False)
    row = enqueue_store_loan()
    send_queued()
    real_now = timezone.now
    sent_at = real_now()

    def at(seconds: int) -> None:
        monkeypatch.setattr(timezone, "now", lambda: sent_at + timedelta(seconds=seconds))

    with override_settings(CHAIN_STUCK_SECONDS=120, OUTBOX_REBROADCAST_SECONDS=15):
        at(100)
        report = confirm_pending()
        assert (report.rebroadcast, report.replaced) == (1, 0)
        first = TxAttempt.objects.get(transaction=row)
        assert first.broadcast_at - first.first_broadcast_at >= timedelta(seconds=99)
        at(130)  # 130 s since the first broadcast, 30 s since the last
        report = confirm_pending()
    assert report.replaced == 1
    monkeypatch.setattr(timezone, "now", real_now)
    chain.mine(1)
    confirm_pending()
    row.refresh_from_db()
    assert row.status == TxStatus.CONFIRMED
    assert TxAttempt.objects.filter(transaction=row).count() == 2


def test_reorged_transaction_is_rebroadcast_and_lands_again(contracts, chain):
    row = enqueue_store_loan()
    send_queued()
    confirm_mined()
    row.refresh_from_db()
    assert row.status == TxStatus.CONFIRMED
    old_block_hash = row.block_hash
    # Replace the block holding our transaction with an empty one.
    chain.rpc("anvil_reorg", 1, [])
    report = confirm_pending()
    assert report.reorged == 1
    row.refresh_from_db()
    assert row.status in (TxStatus.SENT, TxStatus.CONFIRMED)
    chain.mine(1)
    confirm_pending()
    row.refresh_from_db()
    assert row.status == TxStatus.CONFIRMED
    assert row.block_hash != old_block_hash
    assert get_web3().eth.get_transaction_receipt(row.tx_hash)["status"] == 1


def test_retry_failed_queues_a_fresh_attempt(contracts, handled):
    loan_id = unique_loan_id()
    enqueue_store_loan(loan_id)
    send_queued()
    confirm_mined()
    duplicate = enqueue_store_loan(loan_id, key="dup-for-retry")
    send_queued()
    duplicate.refresh_from_db()
    assert duplicate.status == TxStatus.FAILED
    outbox.retry_failed(tx=duplicate)
    duplicate.refresh_from_db()
    assert duplicate.status == TxStatus.QUEUED and duplicate.error_code == ""
    with pytest.raises(outbox.OutboxError):
        outbox.retry_failed(tx=duplicate)


def test_intents_wait_queued_while_the_network_fee_is_above_the_cap_and_go_once_it_is_not(
    contracts, auth_client, settings
):
    from prometheus_client import REGISTRY

    waits_before = REGISTRY.get_sample_value("outbox_fee_cap_waits_total") or 0
    settings.CHAIN_MAX_FEE_GWEI = 1e-9  # anvil's base fee is far above one wei
    row = enqueue_store_loan()
    report = send_queued()
    row.refresh_from_db()
    assert report.waiting_for_fees and report.failed == 0
    assert row.status == TxStatus.QUEUED and row.nonce is None, "waiting, not failed, no nonce taken"
    assert row.last_error.startswith("waiting for fees:") and "CHAIN_MAX_FEE_GWEI" in row.last_error
    assert REGISTRY.get_sample_value("outbox_fee_cap_waits_total") == waits_before + 1
    shown = auth_client("operator").get(f"/api/blockchain/transactions/{row.pk}/").json()
    assert shown["status"] == "queued" and shown["last_error"].startswith("waiting for fees:")

    settings.CHAIN_MAX_FEE_GWEI = 500.0  # the fee fell under the cap
    send_queued()
    confirm_mined()
    row.refresh_from_db()
    assert row.status == TxStatus.CONFIRMED and row.last_error == ""
