"""Loans on chain: the LoanRegistry intents, reads of `getLoan`, and the handlers of its events."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from web3 import Web3

from blockchain.chain.abi import bytes32_from_hex
from blockchain.chain.bindings import call_many, deployment_of
from blockchain.indexing.registry import (
    DecodedEvent,
    Drift,
    ReconcileResult,
    on_event,
    on_removed,
    register_rebuild_hook,
    register_reconciler,
)
from blockchain.models import ChainEvent, ChainTransaction
from blockchain.outbox import enqueue as outbox
from blockchain.outbox.enqueue import intent_key
from blockchain.outbox.hooks import on_failure

logger = logging.getLogger(__name__)

STORE_KIND = "loans.store_loan"
REPAY_KIND = "loans.mark_repaid"
ARTIFACT = "LoanRegistry"
READ_CHUNK = 200


def enqueue_store_loan(loan) -> ChainTransaction:
    """The outbox intent storeLoan(loanId, loanHash, borrower, lender) for this approval attempt."""
    return outbox.enqueue(
        kind=STORE_KIND,
        contract=ARTIFACT,
        function="storeLoan",
        args=[loan.loan_id, bytes32_from_hex(loan.loan_hash), loan.borrower_wallet, loan.lender_wallet],
        idempotency_key=intent_key(STORE_KIND, loan, loan.store_attempt),
        subject=loan,
    )


def enqueue_mark_repaid(loan) -> ChainTransaction:
    """The outbox intent markRepaid(loanId, repaidHash) for this repayment request."""
    return outbox.enqueue(
        kind=REPAY_KIND,
        contract=ARTIFACT,
        function="markRepaid",
        args=[loan.loan_id, bytes32_from_hex(loan.repaid_hash)],
        idempotency_key=intent_key(REPAY_KIND, loan, loan.repay_attempt),
        subject=loan,
    )


# --- reads ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OnchainLoan:
    exists: bool
    loan_hash: str | None
    borrower: str | None
    lender: str | None
    stored_at: int | None
    repaid: bool
    repaid_hash: str | None
    repaid_at: int | None


def _onchain_loan(values: tuple) -> OnchainLoan:
    exists, loan_hash, borrower, lender, stored_at, repaid, repaid_hash, repaid_at = values
    if not exists:
        return OnchainLoan(False, None, None, None, None, False, None, None)
    return OnchainLoan(
        exists=True,
        loan_hash="0x" + bytes(loan_hash).hex(),
        borrower=Web3.to_checksum_address(borrower),
        lender=Web3.to_checksum_address(lender),
        stored_at=int(stored_at),
        repaid=bool(repaid),
        repaid_hash="0x" + bytes(repaid_hash).hex() if repaid else None,
        repaid_at=int(repaid_at) or None,
    )


def read_onchain_loans(
    loan_ids: list[str], *, w3: Web3 | None = None, block: int | None = None
) -> tuple[dict[str, OnchainLoan], int]:
    """`getLoan` for every id, in JSON-RPC batches, all at one block. Returns ({id: loan}, block)."""
    registry = deployment_of(ARTIFACT).address
    values, block = call_many(
        [(ARTIFACT, registry, "getLoan", [loan_id]) for loan_id in loan_ids],
        w3=w3,
        block=block,
        chunk=READ_CHUNK,
    )
    return {loan_id: _onchain_loan(v) for loan_id, v in zip(loan_ids, values, strict=True)}, block


# --- events ---------------------------------------------------------------------------------------


def _locked_loans(events: list[DecodedEvent]) -> dict:
    """The loans the events name, locked, in one query; events of unknown loans are reported once
    (another holder of the operator role wrote them, or they predate this database)."""
    from loans.models import Loan

    ids = {event.args["loanId"] for event in events}
    loans = Loan.objects.select_for_update().in_bulk(ids, field_name="loan_id")
    unknown = ids - loans.keys()
    if unknown:
        logger.warning(
            "%d %s event(s) for loan ids this platform does not know, e.g. %r",
            len(unknown),
            events[0].name,
            sorted(unknown)[:3],
        )
    return loans


def _for_each_loan(events: list[DecodedEvent], apply: Callable[[Any, DecodedEvent], object]) -> None:
    loans = _locked_loans(events) if events else {}
    for event in events:
        loan = loans.get(event.args["loanId"])
        if loan is not None:
            apply(loan, event)


@on_event(ARTIFACT, "LoanStored", batch=True)
def loans_stored(events: list[DecodedEvent]) -> None:
    from loans import services

    _for_each_loan(
        events,
        lambda loan, e: services.record_loan_stored(
            loan=loan, chain_hash=e.args["loanHash"], tx_hash=e.tx_hash, block_number=e.block_number
        ),
    )


@on_event(ARTIFACT, "LoanRepaid", batch=True)
def loans_repaid(events: list[DecodedEvent]) -> None:
    from loans import services

    _for_each_loan(
        events,
        lambda loan, e: services.record_loan_repaid(
            loan=loan, chain_repaid_hash=e.args["repaidHash"], tx_hash=e.tx_hash, block_number=e.block_number
        ),
    )


def _orphaned(events: list[DecodedEvent]) -> list[DecodedEvent]:
    """The removed events whose loan no surviving event of the same kind speaks for."""
    return [
        event
        for event in events
        if not ChainEvent.objects.filter(
            chain_id=settings.CHAIN_ID,
            artifact=ARTIFACT,
            event_name=event.name,
            removed=False,
            args__loanId=event.args["loanId"],
        ).exists()
    ]


@on_removed(ARTIFACT, "LoanStored")
def loan_store_orphaned(events: list[DecodedEvent]) -> None:
    """A reorg took LoanStored away: the loan is anchoring again until its transaction is re-mined
    (the outbox re-broadcasts it)."""
    from loans import services

    _for_each_loan(
        _orphaned(events), lambda loan, e: services.forget_loan_stored(loan=loan, tx_hash=e.tx_hash)
    )


@on_removed(ARTIFACT, "LoanRepaid")
def loan_repayment_orphaned(events: list[DecodedEvent]) -> None:
    from loans import services

    _for_each_loan(
        _orphaned(events), lambda loan, e: services.forget_loan_repaid(loan=loan, tx_hash=e.tx_hash)
    )


# --- failures -------------------------------------------------------------------------------------


def _subject_loan(tx: ChainTransaction):
    from loans.models import Loan

    return Loan.objects.filter(pk=tx.object_id).first() if tx.object_id else None


@on_failure(STORE_KIND)
def store_loan_failed(tx: ChainTransaction) -> None:
    from loans import services

    loan = _subject_loan(tx)
    if loan is not None:
        services.anchoring_failed(loan=loan, error_code=tx.error_code or "failed", detail=tx.error)


@on_failure(REPAY_KIND)
def mark_repaid_failed(tx: ChainTransaction) -> None:
    from loans import services

    loan = _subject_loan(tx)
    if loan is not None:
        services.repayment_failed(loan=loan, error_code=tx.error_code or "failed", detail=tx.error)


# --- rebuild and reconcile -------------------------------------------------------------------------


def forget_chain_facts() -> None:
    """Before `rebuild_from_chain` replays the logs: drop what the events told us about loans."""
    from loans.models import Loan, LoanStatus

    with transaction.atomic():
        Loan.objects.filter(status__in=[LoanStatus.ANCHORED, LoanStatus.REPAID]).update(
            status=LoanStatus.ANCHORING
        )
        Loan.objects.update(
            chain_loan_hash="",
            anchored_tx_hash="",
            anchored_block=None,
            anchored_at=None,
            chain_repaid_hash="",
            repaid_tx_hash="",
            repaid_block=None,
            repaid_confirmed_at=None,
        )


def reconcile_loans(w3: Web3) -> ReconcileResult:
    """Every loan the cache says is on chain (or has chain facts for) against `getLoan`."""
    from loans.models import ANCHORED_STATUSES, Loan

    result = ReconcileResult()
    rows = list(
        Loan.objects.filter(status__in=ANCHORED_STATUSES).values_list(
            "loan_id", "status", "chain_loan_hash", "chain_repaid_hash"
        )
    )
    for start in range(0, len(rows), READ_CHUNK * 5):
        part = rows[start : start + READ_CHUNK * 5]
        onchain, _block = read_onchain_loans([r[0] for r in part], w3=w3)
        for loan_id, status, cached_hash, cached_repaid in part:
            chain = onchain[loan_id]
            result.checked += 1
            if cached_hash != (chain.loan_hash or ""):
                result.drift.append(
                    Drift("loans", f"{loan_id}:loan_hash", cache=cached_hash, chain=chain.loan_hash)
                )
            if (status == "repaid") != chain.repaid or cached_repaid != (chain.repaid_hash or ""):
                result.drift.append(
                    Drift("loans", f"{loan_id}:repaid", cache=cached_repaid or None, chain=chain.repaid_hash)
                )
    return result


register_rebuild_hook("loans", forget_chain_facts)
register_reconciler("loans", reconcile_loans)
