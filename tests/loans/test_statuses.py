"""A loan's `status` never runs ahead of its `chain`: it reads `anchoring` until storeLoan is
confirmed and `repaying` from the repayment request until markRepaid is, even when the indexer has
already applied LoanStored or LoanRepaid from a block the outbox has not confirmed yet. The list
filters by the same status."""

from __future__ import annotations

import pytest

from blockchain.indexing.indexer import Indexer
from blockchain.outbox.confirmer import confirm_pending
from blockchain.outbox.sender import send_queued
from loans.models import Loan, LoanStatus
from tests.support.loans import make_loan
from tests.support.outbox import settle_outbox

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


@pytest.fixture
def operator(auth_client):
    return auth_client("operator")


def shown(client, loan_id: str) -> tuple[str, str]:
    body = client.get(f"/api/loans/{loan_id}/").json()
    return body["status"], body["chain"]["status"]


def listed(client, status: str) -> list[str]:
    response = client.get("/api/loans/", {"status": status})
    assert response.status_code == 200, response.json()
    return [row["loan_id"] for row in response.json()["results"]]


def test_anchoring_until_store_loan_is_confirmed_though_the_indexer_saw_it(contracts, operator):
    loan = make_loan()
    assert operator.post(f"/api/loans/{loan.loan_id}/approve/").json()["status"] == "anchoring"
    send_queued()  # mined by anvil; the confirmer has not seen the receipt yet
    Indexer().run()  # ...but the indexer applies LoanStored
    assert Loan.objects.get(pk=loan.pk).status == LoanStatus.ANCHORED  # what the events say
    assert shown(operator, loan.loan_id) == ("anchoring", "sent")
    status = operator.get(f"/api/loans/{loan.loan_id}/blockchain/status/").json()
    assert status["anchored"] is False and status["chain"]["status"] == "sent"
    assert loan.loan_id in listed(operator, "anchoring") and loan.loan_id not in listed(operator, "anchored")

    confirm_pending()
    assert shown(operator, loan.loan_id) == ("anchored", "confirmed")
    assert operator.get(f"/api/loans/{loan.loan_id}/blockchain/status/").json()["anchored"] is True
    assert loan.loan_id in listed(operator, "anchored")


def test_a_repayment_answers_repaying_until_the_chain_confirms_it(contracts, operator):
    loan = make_loan()
    operator.post(f"/api/loans/{loan.loan_id}/approve/")
    settle_outbox()

    requested = operator.post(f"/api/loans/{loan.loan_id}/blockchain/mark-repaid/", {}, format="json")
    assert requested.status_code == 202
    assert (requested.json()["status"], requested.json()["chain"]["status"]) == ("repaying", "queued")
    assert Loan.objects.get(pk=loan.pk).status == LoanStatus.ANCHORED  # nothing stored changed
    assert loan.loan_id in listed(operator, "repaying") and loan.loan_id not in listed(operator, "anchored")

    send_queued()
    Indexer().run()  # LoanRepaid applied while markRepaid still reads `sent`
    assert Loan.objects.get(pk=loan.pk).status == LoanStatus.REPAID
    assert shown(operator, loan.loan_id) == ("repaying", "sent")
    chain_status = operator.get(f"/api/loans/{loan.loan_id}/blockchain/status/").json()
    assert chain_status["anchored"] is True and chain_status["repaid"] is False

    confirm_pending()
    assert shown(operator, loan.loan_id) == ("repaid", "confirmed")
    assert operator.get(f"/api/loans/{loan.loan_id}/blockchain/status/").json()["repaid"] is True
    assert listed(operator, "repaying") == [] and loan.loan_id in listed(operator, "repaid")


def test_a_defaulted_loan_being_repaid_reads_repaying(contracts, operator):
    loan = make_loan()
    operator.post(f"/api/loans/{loan.loan_id}/approve/")
    settle_outbox()
    assert operator.post(f"/api/loans/{loan.loan_id}/mark-defaulted/", {}, format="json").json()[
        "status"
    ] == ("defaulted")
    requested = operator.post(f"/api/loans/{loan.loan_id}/blockchain/mark-repaid/", {}, format="json")
    assert requested.json()["status"] == "repaying"
    settle_outbox()
    assert shown(operator, loan.loan_id) == ("repaid", "confirmed")
