"""Companies and campaigns at the API edge: validation, every transition, every issuance rule."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from eth_account import Account
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from campaigns.models import Campaign, CampaignStatus
from issuers.models import Company, ComplianceReview, KybStatus, RegistrationStatus
from tests.support.issuance import campaign_body, draft_campaign, proven_company_body

pytestmark = pytest.mark.django_db


def create_company(client, **overrides) -> dict:
    response = client.post("/api/issuers/", proven_company_body(client, **overrides), format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def registered(company: dict) -> dict:
    """Mark a company KYB-approved and registered without the chain (the chain path has its own tests)."""
    Company.objects.filter(pk=company["id"]).update(
        kyb_status=KybStatus.APPROVED, registration_status=RegistrationStatus.REGISTERED
    )
    return company


def put_campaign(company_id: int, status: str, *, starts_at, goal="100000", **extra) -> Campaign:
    """A campaign of a given state written straight to the DB (history for the rolling rules)."""
    campaign = Campaign(
        issuer_id=company_id,
        title=f"past {status}",
        goal=Decimal(goal),
        hard_cap=Decimal(goal) * 2,
        min_investment=Decimal(1),
        share_price=Decimal(1),
        starts_at=starts_at,
        ends_at=starts_at + timedelta(days=30),
        status=status,
        campaign_ref="0x" + f"{Campaign.objects.count() + 1:064x}",
        contract_address=extra.pop("contract_address", ""),
        **extra,
    )
    Campaign.objects.bulk_create([campaign])  # no post_save: no chain intent for made-up history
    return Campaign.objects.get(campaign_ref=campaign.campaign_ref)


# --- companies ----------------------------------------------------------------------------------


def test_company_is_created_pending_and_normalised(issuer):
    wallet = Account.create()
    body = create_company(issuer, wallet=wallet, country="de", wallet_address=wallet.address.lower())
    assert body["kyb_status"] == "pending" and body["country"] == "DE"
    assert body["wallet_address"] == wallet.address
    assert body["onchain"] == {
        "registered": False,
        "status": "not_requested",
        "tx_hash": "",
        "block_number": None,
        "error": "",
        "chain": {
            "status": "not_requested",
            "tx_hash": None,
            "block_number": None,
            "confirmations": None,
            "error": None,
            "explorer_url": None,
        },
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("country", "XX"),
        ("country", "Germany"),
        ("document_cid", "not-a-cid"),
        ("document_cid", "Qm123"),
        ("wallet_address", "0x0000000000000000000000000000000000000000"),
        ("wallet_address", "0x70997970C51812dc3A010C7d01b50e0d17dc79c8"),
        ("registration_number", ""),
        ("registration_number", "HRB 1; DROP TABLE"),
        ("legal_name", ""),
    ],
)
def test_bad_company_details_get_400(issuer, field, value):
    response = issuer.post("/api/issuers/", proven_company_body(issuer, **{field: value}), format="json")
    assert response.status_code == 400 and field in response.json()["errors"], response.json()
    assert not Company.objects.exists()


def test_registration_number_is_unique_per_country(issuer, auth_client):
    create_company(issuer, registration_number="HRB 1", country="DE")
    other = auth_client("issuer")
    same = other.post(
        "/api/issuers/", proven_company_body(other, registration_number="hrb 1", country="DE"), format="json"
    )
    assert same.status_code == 400 and same.json()["code"] == "duplicate_company"
    assert (
        other.post(
            "/api/issuers/",
            proven_company_body(other, registration_number="HRB 1", country="AT"),
            format="json",
        ).status_code
        == 201
    )


def test_a_wallet_belongs_to_one_company(issuer):
    wallet = Account.create()
    create_company(issuer, wallet=wallet)
    again = issuer.post("/api/issuers/", proven_company_body(issuer, wallet=wallet), format="json")
    assert again.status_code == 400 and again.json()["code"] == "duplicate_wallet"


def test_issuers_see_only_their_own_companies(issuer, auth_client, officer):
    mine = create_company(issuer)
    theirs = create_company(auth_client("issuer"))
    assert [c["id"] for c in issuer.get("/api/issuers/").json()["results"]] == [mine["id"]]
    assert issuer.get(f"/api/issuers/{theirs['id']}/").status_code == 404
    assert (
        issuer.patch(f"/api/issuers/{theirs['id']}/", {"legal_name": "x"}, format="json").status_code == 404
    )
    assert officer.get("/api/issuers/").json()["count"] == 2


def test_rejection_needs_and_records_a_reason_and_the_owner_can_resubmit(issuer, officer):
    company = create_company(issuer)
    url = f"/api/issuers/{company['id']}/review/"
    no_reason = officer.post(url, {"decision": "reject"}, format="json")
    assert no_reason.status_code == 400 and "notes" in no_reason.json()["errors"]
    rejected = officer.post(
        url, {"decision": "reject", "notes": "register extract is expired"}, format="json"
    )
    assert rejected.status_code == 200
    assert rejected.json()["kyb_status"] == "rejected"
    assert rejected.json()["rejection_reason"] == "register extract is expired"
    assert officer.post(url, {"decision": "approve"}, format="json").status_code == 409  # not pending
    fixed = issuer.patch(
        f"/api/issuers/{company['id']}/", {"document_cid": company["document_cid"]}, format="json"
    )
    assert fixed.status_code == 200 and fixed.json()["kyb_status"] == "pending"
    reviews = officer.get(f"/api/issuers/{company['id']}/reviews/").json()
    assert [(r["decision"], r["notes"]) for r in reviews] == [("reject", "register extract is expired")]


def test_approved_company_details_are_frozen(issuer):
    company = registered(create_company(issuer))
    response = issuer.patch(f"/api/issuers/{company['id']}/", {"legal_name": "Other"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "company_approved"


def test_compliance_reviews_are_append_only_in_the_database(issuer, officer):
    company = create_company(issuer)
    officer.post(
        f"/api/issuers/{company['id']}/review/", {"decision": "reject", "notes": "no"}, format="json"
    )
    review = ComplianceReview.objects.get()
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        ComplianceReview.objects.filter(pk=review.pk).update(notes="rewritten")
    with pytest.raises(Exception, match="append-only"), transaction.atomic():
        review.delete()
    assert ComplianceReview.objects.get().notes == "no"


# --- campaign terms ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"days": 20}, "ends_at"),
        ({"goal": "300000.00"}, "goal"),
        ({"min_investment": "300000.00"}, "min_investment"),
        ({"goal": "100.001"}, "goal"),
        ({"share_price": "0"}, "share_price"),
        ({"goal": "-5"}, "goal"),
        ({"hard_cap": "abc"}, "hard_cap"),
    ],
)
def test_bad_campaign_terms_get_400(issuer, overrides, field):
    company = create_company(issuer)
    days = overrides.pop("days", 30)
    response = issuer.post(
        "/api/campaigns/", campaign_body(company["id"], days=days, **overrides), format="json"
    )
    assert response.status_code == 400 and field in response.json()["errors"], response.json()


def test_campaigns_only_for_own_companies(issuer, auth_client):
    theirs = create_company(auth_client("issuer"))
    response = issuer.post("/api/campaigns/", campaign_body(theirs["id"]), format="json")
    assert response.status_code == 400 and "issuer" in response.json()["errors"]


def test_only_drafts_are_edited(issuer):
    company = registered(create_company(issuer))
    campaign = draft_campaign(issuer, company["id"])
    url = f"/api/campaigns/{campaign['id']}/"
    edited = issuer.patch(url, {"title": "Series A+", "goal": "120000"}, format="json")
    assert edited.status_code == 200 and edited.json()["goal"] == "120000.000000"
    too_short = issuer.patch(url, {"ends_at": campaign["starts_at"]}, format="json")
    assert too_short.status_code == 400 and "ends_at" in too_short.json()["errors"]
    issuer.post(f"{url}submit/")
    frozen = issuer.patch(url, {"title": "late change"}, format="json")
    assert frozen.status_code == 409
    assert frozen.json()["code"] == "invalid_transition"
    assert frozen.json()["allowed_actions"] == ["cancel"]  # the review decisions are compliance's


# --- transitions --------------------------------------------------------------------------------


def test_submit_needs_a_registered_issuer(issuer):
    company = create_company(issuer)
    campaign = draft_campaign(issuer, company["id"])
    response = issuer.post(f"/api/campaigns/{campaign['id']}/submit/")
    assert response.status_code == 409 and response.json()["code"] == "issuer_not_registered"


def test_request_changes_returns_to_draft_and_reject_cancels(issuer, officer):
    company = registered(create_company(issuer))
    campaign = draft_campaign(issuer, company["id"])
    review = f"/api/campaigns/{campaign['id']}/review/"
    issuer.post(f"/api/campaigns/{campaign['id']}/submit/")
    assert officer.post(review, {"decision": "request_changes"}, format="json").status_code == 400  # notes
    back = officer.post(review, {"decision": "request_changes", "notes": "fix the deck"}, format="json")
    assert back.status_code == 200 and back.json()["status"] == "draft"
    issuer.post(f"/api/campaigns/{campaign['id']}/submit/")
    rejected = officer.post(review, {"decision": "reject", "notes": "misleading"}, format="json")
    assert rejected.json()["status"] == "cancelled" and rejected.json()["cancellation_reason"] == "misleading"
    decisions = [r["decision"] for r in officer.get(f"/api/campaigns/{campaign['id']}/reviews/").json()]
    assert decisions == ["request_changes", "reject"]
    again = officer.post(review, {"decision": "approve"}, format="json")
    assert again.status_code == 409 and again.json()["allowed_actions"] == []


@pytest.mark.parametrize(
    ("status", "action", "allowed"),
    [
        # What the caller may do instead: the officer (issuer for submit) is offered only its own.
        ("draft", "close", ["cancel"]),
        ("draft", "deploy", ["cancel"]),
        ("pending_review", "submit", ["cancel"]),
        ("approved", "close", ["deploy", "cancel"]),
        ("successful", "cancel", []),
        ("failed", "close", []),
        ("cancelled", "submit", []),
    ],
)
def test_invalid_transitions_are_409_naming_the_allowed_ones(officer, issuer, status, action, allowed):
    company = registered(create_company(issuer))
    extra = {"contract_address": "0x" + "12" * 20} if status in ("successful", "failed") else {}
    campaign = put_campaign(company["id"], status, starts_at=timezone.now(), **extra)
    client = issuer if action == "submit" else officer
    response = client.post(f"/api/campaigns/{campaign.pk}/{action}/", {}, format="json")
    assert response.status_code == 409, response.json()
    assert response.json()["code"] == "invalid_transition"
    assert response.json()["allowed_actions"] == allowed


def test_cancel_rules(issuer, officer):
    company = registered(create_company(issuer))
    draft = draft_campaign(issuer, company["id"])
    assert (
        issuer.post(f"/api/campaigns/{draft['id']}/cancel/", {}, format="json").json()["status"]
        == "cancelled"
    )
    deploying = put_campaign(company["id"], CampaignStatus.DEPLOYING, starts_at=timezone.now())
    refused = officer.post(f"/api/campaigns/{deploying.pk}/cancel/", {"reason": "x"}, format="json")
    assert refused.status_code == 409


# --- issuance rules ---------------------------------------------------------------------------------


def test_one_campaign_in_progress_per_company(issuer):
    company = registered(create_company(issuer))
    first = draft_campaign(issuer, company["id"])
    second = draft_campaign(issuer, company["id"], title="B")
    assert issuer.post(f"/api/campaigns/{first['id']}/submit/").status_code == 200
    refused = issuer.post(f"/api/campaigns/{second['id']}/submit/")
    assert refused.status_code == 409 and refused.json()["code"] == "campaign_in_progress"


def test_the_database_enforces_exclusivity_too(issuer):
    company = registered(create_company(issuer))
    put_campaign(
        company["id"], CampaignStatus.ACTIVE, starts_at=timezone.now(), contract_address="0x" + "34" * 20
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        put_campaign(company["id"], CampaignStatus.PENDING_REVIEW, starts_at=timezone.now())


@pytest.mark.parametrize(
    ("past_status", "months_ago", "allowed"),
    [
        ("successful", 6, False),
        ("failed", 11, False),
        ("successful", 13, True),
        ("cancelled", 3, True),  # never ran
    ],
)
def test_one_campaign_per_rolling_12_months(issuer, past_status, months_ago, allowed):
    company = registered(create_company(issuer))
    put_campaign(
        company["id"],
        past_status,
        starts_at=timezone.now() - timedelta(days=30 * months_ago),
        contract_address="0x" + "56" * 20 if past_status != "cancelled" else "",
    )
    campaign = draft_campaign(issuer, company["id"])
    response = issuer.post(f"/api/campaigns/{campaign['id']}/submit/")
    if allowed:
        assert response.status_code == 200, response.json()
    else:
        assert response.status_code == 409 and response.json()["code"] == "campaign_within_12_months"


def test_annual_cap_on_the_total_goal(issuer, settings):
    company = registered(create_company(issuer))
    over = draft_campaign(issuer, company["id"], goal="5000000.01", hard_cap="6000000")
    refused = issuer.post(f"/api/campaigns/{over['id']}/submit/")
    assert refused.status_code == 409 and refused.json()["code"] == "annual_cap_exceeded"
    at_cap = issuer.patch(f"/api/campaigns/{over['id']}/", {"goal": "5000000.00"}, format="json")
    assert at_cap.status_code == 200
    assert issuer.post(f"/api/campaigns/{over['id']}/submit/").status_code == 200

    settings.ISSUER_ANNUAL_CAP = Decimal("150000")
    other = registered(create_company(issuer))
    # a cancelled-while-active campaign ran (and counts) within the window
    put_campaign(
        other["id"],
        CampaignStatus.CANCELLED,
        starts_at=timezone.now() - timedelta(days=400),
        goal="100000",
        activated_at=timezone.now() - timedelta(days=400),
    )
    ok = draft_campaign(issuer, other["id"], goal="100000")
    assert issuer.post(f"/api/campaigns/{ok['id']}/submit/").status_code == 200  # 400 days ago: outside


@pytest.mark.django_db(transaction=True)
def test_20_concurrent_submits_of_two_campaigns_for_one_company_exactly_one_succeeds(make_user):
    user, _ = make_user("issuer")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    company = registered(create_company(client))
    campaigns = [draft_campaign(client, company["id"], title=t)["id"] for t in ("A", "B")]
    token = str(RefreshToken.for_user(user).access_token)
    barrier = threading.Barrier(20)
    codes: list[int] = []
    lock = threading.Lock()

    def submit(campaign_id: int) -> None:
        own = APIClient()
        own.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        try:
            barrier.wait()
            response = own.post(f"/api/campaigns/{campaign_id}/submit/")
            with lock:
                codes.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(campaigns[i % 2],)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [200] + [409] * 19
    assert Campaign.objects.filter(status=CampaignStatus.PENDING_REVIEW).count() == 1
    assert Campaign.objects.filter(status=CampaignStatus.DRAFT).count() == 1


# --- visibility ---------------------------------------------------------------------------------------


def test_public_sees_active_and_successful_campaigns_only(issuer, auth_client, api_client, officer):
    company = registered(create_company(issuer))
    statuses = ["draft", "pending_review", "cancelled", "active", "successful", "failed"]
    ids = {}
    for i, status in enumerate(statuses):
        other_company = (
            company["id"] if status in ("draft", "cancelled") else registered(create_company(issuer))["id"]
        )
        contract = "0x" + f"{i + 1:040x}" if status in ("active", "successful", "failed") else ""
        ids[status] = put_campaign(
            other_company, status, starts_at=timezone.now(), contract_address=contract
        ).pk
    public = {r["status"] for r in api_client.get("/api/campaigns/").json()["results"]}
    assert public == {"active", "successful"}
    investor = {r["status"] for r in auth_client("investor").get("/api/campaigns/").json()["results"]}
    assert investor == {"active", "successful"}
    assert api_client.get(f"/api/campaigns/{ids['draft']}/").status_code == 404
    assert len(issuer.get("/api/campaigns/").json()["results"]) == 6  # own, all states
    stranger = auth_client("issuer")
    assert {r["status"] for r in stranger.get("/api/campaigns/").json()["results"]} == {
        "active",
        "successful",
    }
    assert officer.get("/api/campaigns/?status=failed").json()["count"] == 1
    assert officer.get(f"/api/campaigns/?issuer={company['id']}").json()["count"] == 2
