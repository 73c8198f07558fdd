"""Loans for the tests (the outbox is driven by tests.support.outbox)."""

from __future__ import annotations

import itertools
import time

from loans import services
from loans.models import Loan
from tests.support.chain import BORROWER, LENDER

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
