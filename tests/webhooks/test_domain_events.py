"""Domain changes reach partners as events, whichever path moved them: the receipt path, the indexer,
a reorg correction, a failed write, a verification — once per change, never for a state that did not
hold, and with the entity as the API shows it. Against anvil, delivered over real HTTP."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from eth_utils import keccak

from blockchain.indexing.indexer import Indexer
from blockchain.indexing.reconcile import run_reconcile
from blockchain.outbox.confirmer import confirm_pending
from loans import services as loan_services
from loans.models import Loan
from tests.support.chain import send
from tests.support.loans import BORROWER, LENDER, TERMS, new_loan_id
from tests.support.outbox import settle_outbox
from tests.support.webhook_receiver import partner_endpoint

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

LOAN_EVENTS = ["loan.anchored", "loan.repaid", "loan.updated", "loan.verification_failed"]


@pytest.fixture
def operator(auth_client):
    return auth_client("operator")


@pytest.fixture
def partner(operator):
    events = [*LOAN_EVENTS, "chain.transaction_failed", "indexer.reorg", "reconcile.drift"]
    with partner_endpoint(operator, events) as receiver:
        yield receiver


def _loan(operator) -> str:
    body = {"loan_id": new_loan_id(), **TERMS}
    response = operator.post("/api/loans/", body, format="json")
    assert response.status_code == 201
    return response.json()["loan_id"]


def _types(events: list[tuple[str, dict]]) -> list[str]:
    return [event_type for event_type, _data in events]


def test_a_loan_anchored_and_repaid_is_announced_once_each_as_the_api_shows_it(contracts, operator, partner):
    loan_id = _loan(operator)
    operator.post(f"/api/loans/{loan_id}/approve/")
    assert partner.events() == [], (
        "anchoring is not anchored: nothing to announce while storeLoan is in flight"
    )
    settle_outbox()
    Indexer().run()  # the indexer sees the same LoanStored: no second announcement
    events = partner.events()
    assert _types(events) == ["loan.anchored"]
    shown = operator.get(f"/api/loans/{loan_id}/").json()
    data = events[0][1]
    assert data["loan_id"] == loan_id and data["status"] == shown["status"] == "anchored"
    assert data["chain"]["status"] == "confirmed" and data["anchored_tx_hash"] == shown["anchored_tx_hash"]

    operator.post(f"/api/loans/{loan_id}/blockchain/mark-repaid/", {}, format="json")
    events = partner.events()
    assert _types(events) == ["loan.anchored", "loan.updated"], "repaying is not repaid"
    assert events[1][1]["status"] == "repaying"
    settle_outbox()
    Indexer().run()
    events = partner.events()
    assert _types(events) == ["loan.anchored", "loan.updated", "loan.repaid"]
    assert events[2][1]["status"] == "repaid"


def test_a_reorg_that_undoes_an_anchoring_is_announced_and_so_is_its_return(
    contracts, chain, operator, partner
):
    loan_id = _loan(operator)
    operator.post(f"/api/loans/{loan_id}/approve/")
    settle_outbox()
    Indexer().run()
    assert _types(partner.events()) == ["loan.anchored"]

    chain.rpc("anvil_reorg", 1, [])  # the block with storeLoan is replaced by an empty one
    Indexer().run()
    events = dict(partner.events()[1:])  # the two arrive in either order: deliveries are not ordered
    assert sorted(events) == ["indexer.reorg", "loan.updated"]
    assert (
        events["loan.updated"]["status"] == "anchoring" and events["loan.updated"]["anchored_tx_hash"] == ""
    )
    assert events["indexer.reorg"]["depth"] >= 1

    confirm_pending()  # the outbox re-broadcasts the same signed bytes
    chain.mine(1)
    confirm_pending()
    Indexer().run()
    events = partner.events()
    assert _types(events)[3:] == ["loan.anchored"], "anchored again, announced again, once"
    assert events[3][1]["status"] == "anchored"
    assert Loan.objects.get(loan_id=loan_id).status == "anchored"


def test_a_rebuild_announces_nothing_when_nothing_changed(contracts, operator, partner):
    loan_id = _loan(operator)
    operator.post(f"/api/loans/{loan_id}/approve/")
    settle_outbox()
    Indexer().run()
    assert _types(partner.events()) == ["loan.anchored"]
    call_command("rebuild_from_chain", "--no-progress", stdout=io.StringIO())
    assert _types(partner.events()) == ["loan.anchored"], "the cleared state in between was never announced"
    assert Loan.objects.get(loan_id=loan_id).status == "anchored"


def test_a_failed_write_is_announced_with_the_outbox_row(contracts, operator, partner):
    loan_id = _loan(operator)
    send(
        contracts["LoanRegistry"],
        "LoanRegistry",
        "storeLoan",
        loan_id,
        keccak(text="squatter"),
        BORROWER,
        LENDER,
    )
    operator.post(f"/api/loans/{loan_id}/approve/")
    settle_outbox()  # refused on chain: the id is taken
    events = partner.events()
    assert "chain.transaction_failed" in _types(events) and "loan.anchored" not in _types(events)
    failed = dict(events)["chain.transaction_failed"]
    assert failed["function"] == "storeLoan" and failed["status"] == "failed"
    assert failed["error_code"] == "LoanAlreadyStored"


def test_a_tampered_loan_found_by_verification_is_announced(contracts, operator, partner):
    loan_id = _loan(operator)
    operator.post(f"/api/loans/{loan_id}/approve/")
    settle_outbox()
    Loan.objects.filter(loan_id=loan_id).update(principal=TERMS["principal"] + "1")  # behind the API
    report = loan_services.verify_loans(
        loans=Loan.objects.filter(loan_id=loan_id), scope="all", requested=1, triggered_by="test"
    )
    assert report.mismatched == 1
    events = partner.events()
    (failed,) = [data for event_type, data in events if event_type == "loan.verification_failed"]
    assert failed["loan"]["loan_id"] == loan_id and failed["verification"]["report_id"] == report.pk
    assert "the loan's terms no longer match the hash approved for it" in failed["verification"]["problems"]


def test_drift_found_by_reconciliation_is_announced(contracts, operator, partner):
    loan_id = _loan(operator)
    operator.post(f"/api/loans/{loan_id}/approve/")
    settle_outbox()
    Loan.objects.filter(loan_id=loan_id).update(chain_loan_hash="0x" + "ab" * 32)
    report = run_reconcile()
    events = dict(partner.events())
    assert events["reconcile.drift"]["id"] == report.pk and events["reconcile.drift"]["drift_count"] >= 1
