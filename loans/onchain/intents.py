"""What the loans app asks of the LoanRegistry: storeLoan and markRepaid, one declaration each."""

from __future__ import annotations

from blockchain.chain.abi import bytes32_from_hex
from blockchain.models import ChainTransaction
from blockchain.outbox.declared import ChainIntent, register_intents

STORE_KIND = "loans.store_loan"
REPAY_KIND = "loans.mark_repaid"
ARTIFACT = "LoanRegistry"


def _subject_loan(tx: ChainTransaction):
    from loans.models import Loan

    return Loan.objects.filter(pk=tx.object_id).first() if tx.object_id else None


def store_loan_failed(tx: ChainTransaction) -> None:
    from loans import services

    loan = _subject_loan(tx)
    if loan is not None:
        services.anchoring_failed(loan=loan, error_code=tx.error_code or "failed", detail=tx.error)


def mark_repaid_failed(tx: ChainTransaction) -> None:
    from loans import services

    loan = _subject_loan(tx)
    if loan is not None:
        services.repayment_failed(loan=loan, error_code=tx.error_code or "failed", detail=tx.error)


STORE_LOAN = ChainIntent(
    kind=STORE_KIND,
    contract=ARTIFACT,
    function="storeLoan",
    args=lambda loan: [
        loan.loan_id,
        bytes32_from_hex(loan.loan_hash),
        loan.borrower_wallet,
        loan.lender_wallet,
    ],
    attempt=lambda loan: loan.store_attempt,
    on_failure=store_loan_failed,
)

MARK_REPAID = ChainIntent(
    kind=REPAY_KIND,
    contract=ARTIFACT,
    function="markRepaid",
    args=lambda loan: [loan.loan_id, bytes32_from_hex(loan.repaid_hash)],
    attempt=lambda loan: loan.repay_attempt,
    on_failure=mark_repaid_failed,
)

INTENTS = register_intents(STORE_LOAN, MARK_REPAID)
