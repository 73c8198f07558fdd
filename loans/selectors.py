"""Loan reads, scoped to who asks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db.models import QuerySet

from accounts.models import User
from blockchain.models import ChainTransaction
from blockchain.selectors import (
    InFlight,
    Requested,
    ShownRule,
    chain_transactions_prefetch,
    derive_shown_status,
    shown_status_annotation,
)
from core.months import month_bounds
from loans.models import Loan, LoanStatus
from loans.onchain.intents import REPAY_KIND, STORE_KIND

WEI_PER_NATIVE = Decimal(10**18)

# Shown, not stored: a repayment is recorded but markRepaid is not confirmed yet.
REPAYING = "repaying"
SHOWN_LOAN_STATUSES = [*LoanStatus.values, REPAYING]


# The status the API shows and filters (one table, evaluated in SQL and in Python: see
# blockchain.selectors.ShownRule): `repaying` from the repayment request until markRepaid is
# confirmed, and `anchoring` until storeLoan is (the indexer may apply LoanStored or LoanRepaid while
# the transaction still reads `sent`).
SHOWN_STATUS_RULES = (
    ShownRule(REPAYING, (LoanStatus.ANCHORED, LoanStatus.DEFAULTED), Requested("repaid_hash", empty="")),
    ShownRule(REPAYING, (LoanStatus.REPAID,), InFlight((REPAY_KIND,))),
    ShownRule(LoanStatus.ANCHORING, (LoanStatus.ANCHORED,), InFlight((STORE_KIND,))),
)


def with_shown_status(loans: QuerySet[Loan]) -> QuerySet[Loan]:
    """Annotate `shown_status` (SHOWN_STATUS_RULES in SQL): for filtering by status and for the
    webhook announcers. The API's reads derive it from the prefetched outbox rows instead."""
    return loans.annotate(shown_status=shown_status_annotation(Loan, SHOWN_STATUS_RULES))


def shown_status(loan: Loan) -> str:
    """The status the API shows for `loan`: the `shown_status` annotation when the row has it (a
    filtered list), else SHOWN_STATUS_RULES over the outbox rows read with it (`loans_for`), else
    read again through `with_shown_status` (a row a service returned)."""
    annotated = getattr(loan, "shown_status", None)
    if annotated is not None:
        return annotated
    derived = derive_shown_status(loan, SHOWN_STATUS_RULES)
    if derived is not None:
        return derived
    rows = with_shown_status(Loan.objects.filter(pk=loan.pk))
    return rows.values_list("shown_status", flat=True).first() or loan.status


def loans_for(user: User) -> QuerySet[Loan]:
    """Operators and compliance officers see every loan; nobody else sees any."""
    # No `shown_status` annotation: `shown_status()` derives it from the prefetched outbox rows (a
    # filter by status annotates: views.LoanFilter).
    loans = Loan.objects.select_related("created_by", "approved_by").prefetch_related(
        chain_transactions_prefetch()
    )
    if user.is_authenticated and user.has_role("operator", "compliance"):
        return loans
    return loans.none()


@dataclass(frozen=True)
class LoanOperation:
    """One mined loan transaction, for the monthly report."""

    loan_id: str
    operation: str  # anchor | repayment
    status: str
    tx_hash: str
    block_number: int | None
    mined_at: datetime | None
    gas_used: int
    effective_gas_price: int

    @property
    def fee_wei(self) -> int:
        return self.gas_used * self.effective_gas_price

    @property
    def fee_native(self) -> Decimal:
        return Decimal(self.fee_wei) / WEI_PER_NATIVE


OPERATIONS = {STORE_KIND: "anchor", REPAY_KIND: "repayment"}


def loan_operations(*, month: date) -> Iterator[LoanOperation]:
    """Every loan transaction mined in `month` (first day of it), confirmed or reverted, oldest
    first: the gas and fee each one cost."""
    start, end = month_bounds(month)
    rows = (
        ChainTransaction.objects.filter(
            kind__in=OPERATIONS,
            mined_at__date__gte=start,
            mined_at__date__lt=end,
            gas_used__isnull=False,
        )
        .order_by("mined_at", "id")
        .values_list(
            "loan__loan_id",
            "kind",
            "status",
            "tx_hash",
            "block_number",
            "mined_at",
            "gas_used",
            "effective_gas_price",
        )
    )
    for loan_id, kind, status, tx_hash, block, mined_at, gas_used, price in rows.iterator(chunk_size=2000):
        yield LoanOperation(
            loan_id=loan_id,
            operation=OPERATIONS[kind],
            status=status,
            tx_hash=tx_hash,
            block_number=block,
            mined_at=mined_at,
            gas_used=gas_used or 0,
            effective_gas_price=price or 0,
        )
