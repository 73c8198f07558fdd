"""What partners hear about loans (webhooks): the status the API shows (`anchoring` and `repaying`
until the chain confirms), and a verification that found the record altered."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from loans.models import Loan
from loans.selectors import with_shown_status
from webhooks.announcers import status_announcer
from webhooks.services import announce

LOAN_EVENTS = {"anchored": "loan.anchored", "repaid": "loan.repaid"}


def loan_representation(pk: Any) -> dict:
    from loans.serializers import LoanSerializer

    row = with_shown_status(Loan.objects.select_related("created_by", "approved_by")).get(pk=pk)
    return LoanSerializer(row).data


LOANS = status_announcer(
    model=Loan, noun="loan", named=LOAN_EVENTS, annotate=with_shown_status, represent=loan_representation
)


def announce_verification_failed(*, loan: Loan, result: dict) -> None:
    """A loan whose stored record no longer matches its anchored hash."""
    with transaction.atomic():
        announce(
            "loan.verification_failed",
            data=lambda: {"loan": loan_representation(loan.pk), "verification": result},
            subject=loan,
        )
