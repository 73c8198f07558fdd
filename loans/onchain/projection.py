"""A loan's anchoring and repayment, derived from its surviving LoanStored / LoanRepaid events.

The loan's history (append-only) records each chain observation once: an entry is written when the
projected fact differs from the newest entry about the same transaction, so a receipt and the
indexer delivering the same event, or a rebuild replaying it, add nothing, while a reorg that
orphans a fact (and a re-mine that restores it) is on record. Rows are written with
`QuerySet.update()`: an observation never reaches the post_save signal that enqueues `storeLoan`.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import timezone

from blockchain.models import ChainEvent
from loans.announcements import LOANS
from loans.models import Loan, LoanAction, LoanHistoryEntry, LoanStatus

logger = logging.getLogger(__name__)

ARTIFACT = "LoanRegistry"
L = LoanStatus


def loan_keys(event) -> list[str]:
    return [event.args["loanId"]]


def project_loans(loan_ids: set[str]) -> None:
    loans = Loan.objects.select_for_update().in_bulk(list(loan_ids), field_name="loan_id")
    unknown = loan_ids - loans.keys()
    if unknown:  # another holder of the operator role wrote them, or they predate this database
        logger.warning(
            "%d loan id(s) on chain this platform does not know, e.g. %r", len(unknown), sorted(unknown)[:3]
        )
    if not loans:
        return
    stored: dict[str, ChainEvent] = {}
    repaid: dict[str, ChainEvent] = {}
    for event in ChainEvent.objects.filter(
        chain_id=settings.CHAIN_ID,
        artifact=ARTIFACT,
        removed=False,
        event_name__in=("LoanStored", "LoanRepaid"),
        args__loanId__in=list(loans),
    ).order_by("block_number", "log_index"):
        (stored if event.event_name == "LoanStored" else repaid)[event.args["loanId"]] = event
    for loan_id in sorted(loans):
        _project(loans[loan_id], stored.get(loan_id), repaid.get(loan_id))
    LOANS.refresh(loan.pk for loan in loans.values())  # webhooks: what partners now read differently


def _project(loan: Loan, store: ChainEvent | None, repay: ChainEvent | None) -> None:
    before = loan.status
    notes: list[tuple[str, str, dict]] = []  # (action, tx hash, details) for the history
    if store is not None:
        chain_hash = store.args["loanHash"]
        if loan.anchored_tx_hash != store.tx_hash or loan.chain_loan_hash != chain_hash:
            matches = bool(loan.loan_hash) and chain_hash == loan.loan_hash
            if matches:
                notes.append((LoanAction.ANCHORED, store.tx_hash, {"block_number": store.block_number}))
            else:
                logger.error(
                    "loan %s: the chain holds hash %s, the platform approved %r",
                    loan.loan_id,
                    chain_hash,
                    loan.loan_hash,
                )
                notes.append(
                    (
                        LoanAction.ANCHOR_MISMATCH,
                        store.tx_hash,
                        {
                            "block_number": store.block_number,
                            "chain_hash": chain_hash,
                            "approved_hash": loan.loan_hash,
                        },
                    )
                )
        loan.chain_loan_hash, loan.anchored_tx_hash = chain_hash, store.tx_hash
        loan.anchored_block = store.block_number
        loan.anchored_at = store.mined_at(otherwise=loan.anchored_at or timezone.now())
        if loan.loan_hash and chain_hash == loan.loan_hash and loan.status in (L.APPROVED, L.ANCHORING):
            loan.status, loan.last_chain_error = L.ANCHORED, ""
    else:
        if loan.anchored_tx_hash:
            notes.append((LoanAction.ANCHOR_REORGED, loan.anchored_tx_hash, {}))
        if loan.status in (L.ANCHORED, L.REPAID):
            loan.status = L.ANCHORING  # its storeLoan intent is re-broadcast
        loan.chain_loan_hash = loan.anchored_tx_hash = ""
        loan.anchored_block = loan.anchored_at = None
    if repay is not None:
        chain_repaid = repay.args["repaidHash"]
        matches = bool(loan.repaid_hash) and chain_repaid == loan.repaid_hash
        if loan.repaid_tx_hash != repay.tx_hash or loan.chain_repaid_hash != chain_repaid:
            notes.append(
                (
                    LoanAction.REPAID if matches else LoanAction.REPAYMENT_MISMATCH,
                    repay.tx_hash,
                    {"block_number": repay.block_number, "chain_repaid_hash": chain_repaid},
                )
            )
        loan.chain_repaid_hash, loan.repaid_tx_hash = chain_repaid, repay.tx_hash
        loan.repaid_block = repay.block_number
        loan.repaid_confirmed_at = repay.mined_at(otherwise=loan.repaid_confirmed_at or timezone.now())
        if matches and loan.status in (L.ANCHORED, L.DEFAULTED):
            loan.status, loan.last_chain_error = L.REPAID, ""
    else:
        if loan.repaid_tx_hash:
            notes.append((LoanAction.REPAYMENT_REORGED, loan.repaid_tx_hash, {}))
        if loan.status == L.REPAID:
            loan.status = L.ANCHORED if store is not None else L.ANCHORING
        loan.chain_repaid_hash = loan.repaid_tx_hash = ""
        loan.repaid_block = loan.repaid_confirmed_at = None
    Loan.objects.filter(pk=loan.pk).update(
        status=loan.status,
        last_chain_error=loan.last_chain_error,
        chain_loan_hash=loan.chain_loan_hash,
        anchored_tx_hash=loan.anchored_tx_hash,
        anchored_block=loan.anchored_block,
        anchored_at=loan.anchored_at,
        chain_repaid_hash=loan.chain_repaid_hash,
        repaid_tx_hash=loan.repaid_tx_hash,
        repaid_block=loan.repaid_block,
        repaid_confirmed_at=loan.repaid_confirmed_at,
    )
    for action, tx_hash, details in notes:
        _note_once(loan, action=action, from_status=before, tx_hash=tx_hash, details=details)


def _note_once(loan: Loan, *, action: str, from_status: str, tx_hash: str, details: dict) -> None:
    """History of a chain observation, unless the newest entry about this transaction says it."""
    newest = (
        LoanHistoryEntry.objects.filter(loan=loan, tx_hash=tx_hash)
        .order_by("-pk")
        .values_list("action", flat=True)
        .first()
    )
    if newest == action:
        return
    from loans.services import record_history

    record_history(loan, action=action, from_status=from_status, tx_hash=tx_hash, **details)


def reset_chain_facts() -> None:
    """Before `rebuild_from_chain` replays the logs (the history stays; the replay adds no history entry
    for a fact already on record, and takes the times from the blocks)."""
    Loan.objects.filter(status__in=[L.ANCHORED, L.REPAID]).update(status=L.ANCHORING)
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
