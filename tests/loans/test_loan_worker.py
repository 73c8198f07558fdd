"""A loan's life cycle with the real Celery worker sending: the API only writes the database."""

from __future__ import annotations

import pytest

from blockchain.models import ChainTransaction, TxStatus
from blockchain.outbox.confirmer import confirm_pending
from loans.models import Loan, LoanStatus
from tests.support.loans import TERMS, new_loan_id
from tests.support.outbox import wait_for

pytestmark = [pytest.mark.chain, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def confirmed_status(loan_id: str, status: str) -> bool:
    confirm_pending()  # the beat's job; the sending is the worker's
    return Loan.objects.get(loan_id=loan_id).status == status


def test_approve_and_repay_through_the_worker(contracts, celery_worker_process, auth_client):
    client = auth_client("operator")
    loan_id = new_loan_id("WRK")
    assert client.post("/api/loans/", {"loan_id": loan_id, **TERMS}, format="json").status_code == 201

    assert client.post(f"/api/loans/{loan_id}/approve/").status_code == 202
    wait_for(lambda: confirmed_status(loan_id, LoanStatus.ANCHORED), timeout=60, what="anchoring")

    assert client.post(f"/api/loans/{loan_id}/blockchain/mark-repaid/", {}, format="json").status_code == 202
    wait_for(lambda: confirmed_status(loan_id, LoanStatus.REPAID), timeout=60, what="repayment")

    rows = ChainTransaction.objects.filter(loan__loan_id=loan_id)
    assert sorted(rows.values_list("function", flat=True)) == ["markRepaid", "storeLoan"]
    assert set(rows.values_list("status", flat=True)) == {TxStatus.CONFIRMED}
    verify = client.get(f"/api/loans/{loan_id}/blockchain/verify/").json()
    assert verify["verified"] is True and verify["repaid_chain"] is True
