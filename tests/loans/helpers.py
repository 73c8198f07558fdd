"""Loans for the tests, and driving the outbox in-process (sender + confirmer against anvil)."""

from __future__ import annotations

import itertools
import time

from blockchain.confirmer import confirm_pending
from blockchain.sender import send_queued
from loans import services
from loans.models import Loan

BORROWER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
LENDER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
_ids = itertools.count(1)

TERMS = {
    "borrower_wallet": BORROWER,
    "lender_wallet": LENDER,
    "principal": "250000.00",
    "currency": "USD",
    "interest_rate_bps": 675,
    "term_months": 36,
}


def new_loan_id(prefix: str = "LN") -> str:
    return f"{prefix}-{time.time_ns()}-{next(_ids)}"


def make_loan(*, actor=None, loan_id: str | None = None, **overrides) -> Loan:
    return services.create_loan(actor=actor, loan_id=loan_id or new_loan_id(), **{**TERMS, **overrides})


def settle_outbox(*, rounds: int = 10) -> None:
    """Sign, send and confirm until nothing is in flight (CHAIN_CONFIRMATIONS is 0 in tests). More
    than one round when a direct call by the same signer took a nonce and a row was re-queued."""
    from blockchain.models import IN_FLIGHT_STATUSES, ChainTransaction

    for _ in range(rounds):
        send_queued()
        confirm_pending()
        if not ChainTransaction.objects.filter(status__in=IN_FLIGHT_STATUSES).exists():
            return
    raise AssertionError("the outbox did not settle")
