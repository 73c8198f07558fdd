"""What the loans app asks of the LoanRegistry: storeLoan and markRepaid, and their failure hooks."""

from __future__ import annotations

import logging

from blockchain.chain.abi import bytes32_from_hex
from blockchain.models import ChainTransaction
from blockchain.outbox import enqueue as outbox
from blockchain.outbox.enqueue import intent_key
from blockchain.outbox.hooks import on_failure

logger = logging.getLogger(__name__)

STORE_KIND = "loans.store_loan"
REPAY_KIND = "loans.mark_repaid"
ARTIFACT = "LoanRegistry"


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
