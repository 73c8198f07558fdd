"""The loans API edge: validation, roles, and the admin's frozen terms."""

from __future__ import annotations

import pytest
from django.test import Client

from loans.models import Loan, LoanAction, LoanStatus
from tests.support.loans import BORROWER, LENDER, TERMS, make_loan, new_loan_id
from tests.support.outbox import settle_outbox

pytestmark = pytest.mark.django_db


def post_loan(client, **overrides):
    return client.post("/api/loans/", {"loan_id": new_loan_id(), **TERMS, **overrides}, format="json")


@pytest.mark.parametrize(
    "loan_id",
    ["", "has space", "slash/inside", "under_score", "x" * 101, "ünïcode", "L-1;drop"],
)
def test_bad_loan_ids_get_400(auth_client, loan_id):
    response = post_loan(auth_client("operator"), loan_id=loan_id)
    assert response.status_code == 400
    assert "loan_id" in response.json()["errors"]
    assert not Loan.objects.exists()


@pytest.mark.parametrize(
    ("principal", "currency"),
    [
        ("0", "USD"),
        ("-5.00", "USD"),
        ("abc", "USD"),
        ("NaN", "USD"),
        ("Infinity", "USD"),
        ("1e400", "USD"),
        ("1.001", "USD"),  # USD has cents, no more
        ("100.5", "JPY"),  # yen have no minor unit
        ("1.0001", "KWD"),  # dinars have three decimals
        ("1" * 19, "USD"),  # over 18 integer digits
        ("", "USD"),
        (None, "USD"),
    ],
)
def test_bad_amounts_get_400(auth_client, principal, currency):
    response = post_loan(auth_client("operator"), principal=principal, currency=currency)
    assert response.status_code == 400
    assert "principal" in response.json()["errors"], response.json()
    assert not Loan.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("currency", "XXX"),
        ("currency", "US"),
        ("currency", "usdollar"),
        ("borrower_wallet", "0x70997970C51812dc3A010C7d01b50e0d17dc79c8"),  # bad EIP-55 checksum
        ("borrower_wallet", "0x0000000000000000000000000000000000000000"),
        ("borrower_wallet", "70997970C51812dc3A010C7d01b50e0d17dc79C8"),
        ("lender_wallet", BORROWER),  # lending to oneself
        ("interest_rate_bps", -1),
        ("interest_rate_bps", 100_001),
        ("interest_rate_bps", "6.75"),
        ("term_months", 0),
        ("term_months", 601),
    ],
)
def test_bad_terms_get_400_on_the_field(auth_client, field, value):
    response = post_loan(auth_client("operator"), **{field: value})
    assert response.status_code == 400
    assert field in response.json()["errors"], response.json()


def test_valid_spellings_are_normalised(auth_client):
    response = post_loan(
        auth_client("operator"),
        borrower_wallet=BORROWER.lower(),
        currency="jpy",
        principal="1500000",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["borrower_wallet"] == BORROWER and body["currency"] == "JPY"
    assert body["principal"] == "1500000.000000" and body["status"] == "draft"


def test_duplicate_loan_id_gets_400_and_keeps_the_first(auth_client):
    client = auth_client("operator")
    first = post_loan(client, loan_id="DUP-1")
    assert first.status_code == 201
    again = post_loan(client, loan_id="DUP-1", principal="1.00")
    assert again.status_code == 400
    assert again.json()["code"] == "duplicate_loan_id" and "loan_id" in again.json()["errors"]
    assert Loan.objects.get(loan_id="DUP-1").principal == 250000


@pytest.mark.parametrize("role", ["investor", "issuer", "institution"])
def test_other_roles_can_neither_read_nor_write_loans(auth_client, role):
    loan = make_loan()
    client = auth_client(role)
    assert client.get("/api/loans/").status_code == 403
    assert client.get(f"/api/loans/{loan.loan_id}/").status_code == 403
    assert post_loan(client).status_code == 403
    assert client.post(f"/api/loans/{loan.loan_id}/approve/").status_code == 403


def test_anonymous_gets_401(api_client):
    assert api_client.get("/api/loans/").status_code == 401


def test_compliance_reads_but_does_not_write(auth_client):
    loan = make_loan()
    client = auth_client("compliance")
    listing = client.get("/api/loans/")
    assert listing.status_code == 200 and listing.json()["count"] == 1
    assert client.get(f"/api/loans/{loan.loan_id}/blockchain/status/").status_code == 200
    assert client.get(f"/api/loans/{loan.loan_id}/history/").status_code == 200
    assert post_loan(client).status_code == 403
    assert client.post(f"/api/loans/{loan.loan_id}/approve/").status_code == 403
    assert client.post(f"/api/loans/{loan.loan_id}/blockchain/mark-repaid/").status_code == 403
    assert client.patch(f"/api/loans/{loan.loan_id}/", {"notes": "x"}, format="json").status_code == 403


def test_list_filters_and_lookups(auth_client):
    client = auth_client("operator")
    usd = make_loan()
    eur = make_loan(currency="EUR", lender_wallet="0x90F79bf6EB2c4f870365E785982E1f101E93b906")
    assert [r["loan_id"] for r in client.get("/api/loans/?currency=eur").json()["results"]] == [eur.loan_id]
    by_lender = client.get(f"/api/loans/?lender_wallet={LENDER.lower()}").json()["results"]
    assert [r["loan_id"] for r in by_lender] == [usd.loan_id]
    assert client.get("/api/loans/?status=draft").json()["count"] == 2
    assert client.get("/api/loans/?status=bogus").status_code == 400
    assert client.get("/api/loans/NO-SUCH-LOAN/").status_code == 404
    assert client.put(f"/api/loans/{usd.loan_id}/", {}, format="json").status_code == 405


def test_the_schema_documents_the_loan_endpoints(api_client):
    paths = api_client.get("/api/schema/?format=json").json()["paths"]
    for path in (
        "/api/loans/",
        "/api/loans/{loan_id}/",
        "/api/loans/{loan_id}/approve/",
        "/api/loans/{loan_id}/blockchain/store/",
        "/api/loans/{loan_id}/blockchain/status/",
        "/api/loans/{loan_id}/blockchain/verify/",
        "/api/loans/{loan_id}/blockchain/mark-repaid/",
    ):
        assert path in paths, path


# The history inline's (empty) management form, as the admin page posts it.
INLINE = {"history-TOTAL_FORMS": "0", "history-INITIAL_FORMS": "0"}


@pytest.fixture
def operator_admin(make_user) -> tuple[Client, object]:
    user, _ = make_user("operator")
    client = Client()
    client.force_login(user)
    return client, user


def test_operators_create_loans_in_the_admin_with_an_audit_entry(operator_admin):
    client, user = operator_admin
    assert client.get("/admin/loans/loan/").status_code == 200  # the operator group's permissions
    loan_id = new_loan_id("ADM")
    response = client.post(
        "/admin/loans/loan/add/",
        {**TERMS, **INLINE, "loan_id": loan_id, "currency": "usd", "notes": "", "start_date": ""},
    )
    assert response.status_code == 302, response.content[:2000]
    loan = Loan.objects.get(loan_id=loan_id)
    assert loan.currency == "USD" and loan.created_by == user
    assert loan.history.get().action == LoanAction.CREATED and loan.history.get().actor == user


def test_admin_refuses_bad_terms(operator_admin):
    client, _ = operator_admin
    response = client.post(
        "/admin/loans/loan/add/", {**TERMS, **INLINE, "loan_id": "BAD ID", "lender_wallet": BORROWER}
    )
    assert response.status_code == 200  # the form again, with errors
    assert b"errorlist" in response.content and b"letters, digits and hyphens" in response.content
    assert not Loan.objects.exists()


def test_admin_does_not_edit_the_hashed_terms_of_an_anchored_loan(contracts, operator_admin):
    from loans import services

    client, user = operator_admin
    loan = services.approve_loan(loan=make_loan(), actor=user)
    settle_outbox()
    loan.refresh_from_db()
    assert loan.status == LoanStatus.ANCHORED
    page = client.get(f"/admin/loans/loan/{loan.pk}/change/")
    assert page.status_code == 200
    assert b'name="principal"' not in page.content  # shown read-only
    response = client.post(
        f"/admin/loans/loan/{loan.pk}/change/",
        {
            **TERMS,
            **INLINE,
            "loan_id": loan.loan_id,
            "principal": "1.00",
            "notes": "edited",
            "start_date": "",
        },
    )
    assert response.status_code == 302
    loan.refresh_from_db()
    assert loan.principal == 250000 and loan.notes == "edited"
    assert client.post(f"/admin/loans/loan/{loan.pk}/delete/").status_code == 403
