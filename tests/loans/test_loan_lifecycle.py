"""Loans against anvil through the API: anchoring, repayment, tamper detection, audits, reports."""

from __future__ import annotations

import csv
import io
import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone
from eth_utils import keccak

from blockchain.chain.bindings import bound
from blockchain.indexing.indexer import Indexer
from blockchain.indexing.reconcile import run_reconcile
from blockchain.models import ChainEvent, ChainTransaction, TxStatus
from blockchain.outbox.confirmer import confirm_pending
from loans.hashing import loan_hash
from loans.management.commands.loan_report import COLUMNS as REPORT_COLUMNS
from loans.models import Loan, LoanAction, LoanStatus, LoanVerificationReport
from loans.onchain.intents import REPAY_KIND, STORE_KIND
from tests.support.chain import send
from tests.support.loans import BORROWER, LENDER, TERMS, make_loan, new_loan_id
from tests.support.outbox import settle_outbox

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


@pytest.fixture
def operator(auth_client):
    return auth_client("operator")


def url(loan_id: str, tail: str = "") -> str:
    return f"/api/loans/{loan_id}/{tail}"


def create(client, **overrides) -> dict:
    body = {"loan_id": new_loan_id(), **TERMS, **overrides}
    response = client.post("/api/loans/", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def transactions(loan_id: str, kind: str):
    return ChainTransaction.objects.filter(loan__loan_id=loan_id, kind=kind)


def test_full_life_cycle(contracts, operator):
    loan = create(operator)
    loan_id = loan["loan_id"]
    assert loan["status"] == "draft" and loan["chain"]["status"] == "not_requested"

    approved = operator.post(url(loan_id, "approve/"))
    assert approved.status_code == 202
    body = approved.json()
    assert body["status"] == "anchoring"
    assert body["chain"]["status"] == "queued"
    expected_hash = loan_hash(loan_id=loan_id, **TERMS)
    assert body["loan_hash"] == expected_hash

    settle_outbox()
    anchored = operator.get(url(loan_id)).json()
    assert anchored["status"] == "anchored"
    assert anchored["chain"]["status"] == "confirmed" and anchored["chain"]["tx_hash"].startswith("0x")
    assert anchored["anchored_tx_hash"] == anchored["chain"]["tx_hash"]
    exists, chain_hash, borrower, lender, *_ = bound("LoanRegistry").call("getLoan", loan_id)
    assert exists and "0x" + chain_hash.hex() == expected_hash and (borrower, lender) == (BORROWER, LENDER)

    status = operator.get(url(loan_id, "blockchain/status/")).json()
    assert status["anchored"] is True and status["repaid"] is False and status["loan_hash"] == expected_hash
    verify = operator.get(url(loan_id, "blockchain/verify/")).json()
    assert verify["verified"] is True
    assert verify["db_hash"] == verify["chain_hash"] == expected_hash
    assert verify["repaid_db"] is False and verify["repaid_chain"] is False

    repaid = operator.post(url(loan_id, "blockchain/mark-repaid/"), {}, format="json")
    assert repaid.status_code == 202
    assert repaid.json()["status"] == "repaying" and repaid.json()["repaid_hash"].startswith("0x")
    assert repaid.json()["chain"]["status"] == "queued"
    settle_outbox()
    final = operator.get(url(loan_id)).json()
    assert final["status"] == "repaid" and final["repaid_tx_hash"] == final["chain"]["tx_hash"]
    verify = operator.get(url(loan_id, "blockchain/verify/")).json()
    assert verify["verified"] is True and verify["repaid_db"] is True and verify["repaid_chain"] is True
    assert verify["db_repaid_hash"] == verify["chain_repaid_hash"] == final["repaid_hash"]

    # One transaction per operation, and the audit trail names who did what.
    assert transactions(loan_id, STORE_KIND).count() == 1
    assert transactions(loan_id, REPAY_KIND).count() == 1
    history = operator.get(url(loan_id, "history/")).json()
    assert [h["action"] for h in history] == [
        "created",
        "approved",
        "anchored",
        "repayment_requested",
        "repaid",
    ]
    operator_name = history[0]["actor"]
    assert operator_name and history[1]["actor"] == operator_name and history[3]["actor"] == operator_name
    assert history[2]["actor"] is None and history[2]["tx_hash"] == anchored["anchored_tx_hash"]

    # The indexer sees the same events again: nothing changes, and the cache agrees with the chain.
    Indexer().run()
    assert Loan.objects.get(loan_id=loan_id).history.count() == 5
    assert run_reconcile().drift_count == 0


def test_editing_hashed_terms_is_refused_once_approved(contracts, operator):
    loan_id = create(operator)["loan_id"]
    assert operator.patch(url(loan_id), {"principal": "1000.00"}, format="json").status_code == 200
    operator.post(url(loan_id, "approve/"))
    settle_outbox()
    response = operator.patch(url(loan_id), {"principal": "999999.00"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "loan_terms_frozen"
    assert response.json()["fields"] == ["principal"]
    # Unhashed notes may still change; hashed terms set to their current value are not an edit.
    ok = operator.patch(url(loan_id), {"notes": "collateral re-valued", "currency": "USD"}, format="json")
    assert ok.status_code == 200 and ok.json()["notes"] == "collateral re-valued"
    assert Loan.objects.get(loan_id=loan_id).principal == 1000


def test_principal_changed_in_the_database_is_reported_by_the_endpoint_and_verify_loans(contracts, operator):
    tampered = create(operator)["loan_id"]
    honest = create(operator)["loan_id"]
    for loan_id in (tampered, honest):
        operator.post(url(loan_id, "approve/"))
    settle_outbox()
    with connection.cursor() as cursor:  # behind the platform's back
        cursor.execute("UPDATE loans_loan SET principal = principal + 1 WHERE loan_id = %s", [tampered])

    verify = operator.get(url(tampered, "blockchain/verify/")).json()
    assert verify["verified"] is False and verify["outcome"] == "mismatched"
    assert verify["db_hash"] != verify["chain_hash"]
    assert verify["chain_hash"] == verify["approved_hash"]
    assert "the loan's terms no longer match the hash approved for it" in verify["problems"]
    assert operator.get(url(honest, "blockchain/verify/")).json()["verified"] is True

    out = io.StringIO()
    with pytest.raises(CommandError, match="1 mismatched"):
        call_command("verify_loans", "--all", "--no-progress", stdout=out)
    assert f"MISMATCH {tampered}" in out.getvalue() and honest not in out.getvalue()
    report = LoanVerificationReport.objects.latest()
    assert (report.checked, report.matched, report.mismatched, report.not_anchored) == (2, 1, 1, 0)
    assert report.mismatches[0]["loan_id"] == tampered
    assert report.scope == "all" and report.block_number


def test_loan_anchored_by_a_direct_contract_call_with_another_hash_is_reported(contracts, operator):
    loan_id = create(operator)["loan_id"]
    squatter_hash = keccak(text="not the platform's loan")
    send(contracts["LoanRegistry"], "LoanRegistry", "storeLoan", loan_id, squatter_hash, BORROWER, LENDER)

    operator.post(url(loan_id, "approve/"))
    settle_outbox()  # storeLoan is refused on chain: the id is taken
    loan = operator.get(url(loan_id)).json()
    assert loan["status"] == "approved"
    assert loan["chain"]["status"] == "failed" and loan["chain"]["error"]["code"] == "LoanAlreadyStored"
    assert "LoanAlreadyStored" in loan["last_chain_error"]

    verify = operator.get(url(loan_id, "blockchain/verify/")).json()
    assert verify["verified"] is False and verify["anchored_chain"] is True
    assert verify["chain_hash"] == "0x" + squatter_hash.hex()
    assert "the chain holds a different hash for this loan id" in verify["problems"]

    # The indexer delivers the squatter's LoanStored: cached, flagged, not taken as our anchor.
    Indexer().run()
    row = Loan.objects.get(loan_id=loan_id)
    assert row.status == LoanStatus.APPROVED and row.chain_loan_hash == "0x" + squatter_hash.hex()
    assert row.history.filter(action=LoanAction.ANCHOR_MISMATCH).exists()
    with pytest.raises(CommandError, match="1 mismatched"):
        call_command("verify_loans", "--loan", loan_id, "--no-progress", stdout=io.StringIO())


def test_double_approve_sends_one_transaction(contracts, operator):
    loan_id = create(operator)["loan_id"]
    first = operator.post(url(loan_id, "approve/"))
    second = operator.post(url(loan_id, "approve/"))
    assert first.status_code == 202
    assert second.status_code == 409 and second.json()["code"] == "invalid_transition"
    assert second.json()["allowed_from"] == ["draft"]
    settle_outbox()
    assert transactions(loan_id, STORE_KIND).count() == 1
    assert ChainEvent.objects.filter(event_name="LoanStored", args__loanId=loan_id).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_approvals_send_one_transaction(contracts, make_user):
    from loans import services

    user, _ = make_user("operator")
    loan = make_loan(actor=user)
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def approve() -> None:
        try:
            barrier.wait()
            services.approve_loan(loan=loan, actor=user)
            outcomes.append("approved")
        except Exception as exc:
            outcomes.append(type(exc).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["StateConflict"] * 3 + ["approved"]
    assert ChainTransaction.objects.filter(kind=STORE_KIND, object_id=loan.pk).count() == 1


def test_store_requeues_a_failed_anchoring_and_never_an_anchored_one(contracts, operator):
    loan_id = create(operator)["loan_id"]
    # Take the operator role away so storeLoan reverts, then give it back.
    from blockchain.chain.signer import get_signer

    role = keccak(text="OPERATOR_ROLE")
    signer = get_signer().address
    send(contracts["LoanRegistry"], "LoanRegistry", "revokeRole", role, signer)
    operator.post(url(loan_id, "approve/"))
    settle_outbox()
    assert Loan.objects.get(loan_id=loan_id).status == LoanStatus.APPROVED
    send(contracts["LoanRegistry"], "LoanRegistry", "grantRole", role, signer)

    requeued = operator.post(url(loan_id, "blockchain/store/"))
    assert requeued.status_code == 202 and requeued.json()["status"] == "anchoring"
    again = operator.post(url(loan_id, "blockchain/store/"))  # while in flight: the same intent
    assert again.status_code == 200
    settle_outbox()
    assert Loan.objects.get(loan_id=loan_id).status == LoanStatus.ANCHORED
    anchored = operator.post(url(loan_id, "blockchain/store/"))
    assert anchored.status_code == 200 and anchored.json()["status"] == "anchored"
    statuses = list(transactions(loan_id, STORE_KIND).order_by("id").values_list("status", flat=True))
    assert statuses == [TxStatus.FAILED, TxStatus.CONFIRMED]


def test_repayment_rules(contracts, operator):
    loan_id = create(operator)["loan_id"]
    draft = operator.post(url(loan_id, "blockchain/mark-repaid/"), {}, format="json")
    assert draft.status_code == 409
    operator.post(url(loan_id, "approve/"))
    settle_outbox()
    future = operator.post(
        url(loan_id, "blockchain/mark-repaid/"),
        {"repaid_at": (timezone.now() + timezone.timedelta(days=1)).isoformat()},
        format="json",
    )
    assert future.status_code == 400 and "repaid_at" in future.json()["errors"]
    first = operator.post(url(loan_id, "blockchain/mark-repaid/"), {}, format="json").json()
    second = operator.post(url(loan_id, "blockchain/mark-repaid/"), {}, format="json").json()
    assert first["repaid_hash"] == second["repaid_hash"]
    settle_outbox()
    assert transactions(loan_id, REPAY_KIND).count() == 1
    assert operator.post(url(loan_id, "mark-defaulted/"), {}, format="json").status_code == 409


def test_defaulted_loan_stays_verifiable_and_can_still_be_repaid(contracts, operator):
    loan_id = create(operator)["loan_id"]
    operator.post(url(loan_id, "approve/"))
    settle_outbox()
    defaulted = operator.post(url(loan_id, "mark-defaulted/"), {"reason": "missed 3 payments"}, format="json")
    assert defaulted.status_code == 200 and defaulted.json()["status"] == "defaulted"
    assert operator.get(url(loan_id, "blockchain/verify/")).json()["verified"] is True
    operator.post(url(loan_id, "blockchain/mark-repaid/"), {}, format="json")
    settle_outbox()
    assert operator.get(url(loan_id)).json()["status"] == "repaid"


def test_verify_loans_sample_counts_unanchored_loans_apart(contracts, operator):
    anchored = create(operator)["loan_id"]
    operator.post(url(anchored, "approve/"))
    settle_outbox()
    pending = create(operator)["loan_id"]
    operator.post(url(pending, "approve/"))  # approved, not sent yet
    create(operator)  # a draft: outside the sample

    out = io.StringIO()
    call_command("verify_loans", "--sample", "10", "--no-progress", stdout=out)
    report = LoanVerificationReport.objects.latest()
    assert (report.checked, report.matched, report.mismatched, report.not_anchored) == (2, 1, 0, 1)
    assert report.not_anchored_ids == [pending]
    assert "checked 2 at block" in out.getvalue() and "1 not anchored" in out.getvalue()


def test_weekly_beat_task_samples_loans(contracts, settings):
    from loans.tasks import verify_loan_sample

    entry = settings.CELERY_BEAT_SCHEDULE["verify-loans-weekly"]
    assert entry["task"] == "loans.tasks.verify_loan_sample" and entry["kwargs"] == {"sample": 100}
    assert entry["schedule"].day_of_week == {1}
    loan = make_loan()
    from loans import services

    services.approve_loan(loan=loan, actor=None)
    settle_outbox()
    result = verify_loan_sample(sample=100)  # the task body, in this process
    report = LoanVerificationReport.objects.get(pk=result["report"])
    assert report.scope == "sample" and report.requested == 100 and report.checked == 1 and report.ok


def test_loan_report_lists_each_operation_with_gas_and_fee(contracts, operator, tmp_path):
    loan_id = create(operator)["loan_id"]
    operator.post(url(loan_id, "approve/"))
    settle_outbox()
    operator.post(url(loan_id, "blockchain/mark-repaid/"), {}, format="json")
    settle_outbox()
    month = timezone.now().strftime("%Y-%m")
    target = tmp_path / "report.csv"
    err = io.StringIO()
    call_command("loan_report", "--month", month, "--output", str(target), stderr=err)
    rows = list(csv.DictReader(target.open()))
    ours = [r for r in rows if r["loan_id"] == loan_id]
    assert [r["operation"] for r in ours] == ["anchor", "repayment"]
    for row, kind in zip(ours, (STORE_KIND, REPAY_KIND), strict=True):
        tx = transactions(loan_id, kind).get()
        assert row["tx_hash"] == tx.tx_hash and int(row["block_number"]) == tx.block_number
        assert int(row["gas_used"]) == tx.gas_used > 21_000
        assert int(row["fee_wei"]) == tx.gas_used * tx.effective_gas_price
    assert "1 anchored, 1 repaid" in err.getvalue()

    other = io.StringIO()
    call_command("loan_report", "--month", "2001-01", stdout=other, stderr=io.StringIO())
    assert other.getvalue().strip().splitlines() == [",".join(REPORT_COLUMNS)]
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("loan_report", "--month", "2026-13")


def test_reorg_of_the_anchoring_block_returns_the_loan_to_anchoring_until_re_mined(
    contracts, chain, operator
):
    loan_id = create(operator)["loan_id"]
    operator.post(url(loan_id, "approve/"))
    settle_outbox()
    Indexer().run()
    assert Loan.objects.get(loan_id=loan_id).status == LoanStatus.ANCHORED

    chain.rpc("anvil_reorg", 1, [])  # the block with storeLoan is replaced by an empty one
    Indexer().run()
    loan = Loan.objects.get(loan_id=loan_id)
    assert loan.status == LoanStatus.ANCHORING and loan.anchored_tx_hash == ""
    assert loan.history.filter(action=LoanAction.ANCHOR_REORGED).exists()

    confirm_pending()  # the receipt is gone: the outbox re-broadcasts the same signed bytes
    chain.mine(1)
    confirm_pending()
    loan.refresh_from_db()
    assert loan.status == LoanStatus.ANCHORED and loan.anchored_tx_hash
    assert transactions(loan_id, STORE_KIND).count() == 1
    Indexer().run()
    assert run_reconcile().drift_count == 0


def test_rebuild_from_chain_restores_loan_states(contracts, operator):
    repaid = create(operator)["loan_id"]
    anchored = create(operator)["loan_id"]
    for loan_id in (repaid, anchored):
        operator.post(url(loan_id, "approve/"))
    settle_outbox()
    operator.post(url(repaid, "blockchain/mark-repaid/"), {}, format="json")
    settle_outbox()
    Indexer().run()
    before = {
        loan.loan_id: (loan.status, loan.anchored_tx_hash, loan.repaid_tx_hash)
        for loan in Loan.objects.filter(loan_id__in=[repaid, anchored])
    }
    call_command("rebuild_from_chain", "--no-progress", stdout=io.StringIO())
    after = {
        loan.loan_id: (loan.status, loan.anchored_tx_hash, loan.repaid_tx_hash)
        for loan in Loan.objects.filter(loan_id__in=[repaid, anchored])
    }
    assert after == before
    assert before[repaid][0] == LoanStatus.REPAID and before[anchored][0] == LoanStatus.ANCHORED


def test_reconcile_reports_a_cached_hash_that_disagrees_with_the_chain(contracts, operator):
    loan_id = create(operator)["loan_id"]
    operator.post(url(loan_id, "approve/"))
    settle_outbox()
    Loan.objects.filter(loan_id=loan_id).update(chain_loan_hash="0x" + "ab" * 32)
    report = run_reconcile()
    assert any(d["key"] == f"{loan_id}:loan_hash" for d in report.drift)


def test_verify_answers_503_when_the_chain_is_unreachable(contracts, operator, settings):
    from blockchain.chain.client import get_web3
    from devtools.processes import free_port

    loan_id = create(operator)["loan_id"]
    settings.CHAIN_RPC_URL = f"http://127.0.0.1:{free_port()}"
    get_web3.cache_clear()
    try:
        response = operator.get(url(loan_id, "blockchain/verify/"))
    finally:
        get_web3.cache_clear()
    assert response.status_code == 503
    assert response.json()["code"] == "chain_unavailable"
