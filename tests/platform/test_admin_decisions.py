"""Compliance decisions on an object's own admin page: which buttons each role gets, the page that
asks for notes, the services doing the work, the message that says what happened, and refusals (the
wrong role, a decision the service refuses, missing notes) that change nothing."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from eth_account import Account

from audit.models import AuditEvent
from blockchain.models import ChainTransaction
from campaigns.models import AMLAlert, CampaignStatus, Investment, InvestmentStatus
from campaigns.onchain.intents import CREATE_KIND
from core.admin_tools import DecisionsMixin
from issuers.models import Company, ComplianceReview, KybStatus, RegistrationStatus
from issuers.onchain.intents import REGISTER_KIND
from tests.platform.test_compliance_dashboard import make_campaign, make_company

pytestmark = pytest.mark.django_db

# (app_label.model, decision) → the staff roles that may take it (a superuser may take all of them).
EXPECTED: dict[tuple[str, str], set[str]] = {
    ("issuers.company", "approve"): {"compliance"},
    ("issuers.company", "reject"): {"compliance"},
    ("campaigns.campaign", "approve"): {"compliance"},
    ("campaigns.campaign", "reject"): {"compliance"},
    ("campaigns.campaign", "request_changes"): {"compliance"},
    ("campaigns.campaign", "cancel"): {"compliance"},
    ("campaigns.investment", "release"): {"compliance"},
    ("campaigns.investment", "reject"): {"compliance"},
}


def declared_decisions():
    for model_admin in admin.site._registry.values():
        if isinstance(model_admin, DecisionsMixin):
            for decision in model_admin.decisions:
                yield model_admin, decision


def decide_url(obj, name: str) -> str:
    return f"/admin/{obj._meta.app_label}/{obj._meta.model_name}/{obj.pk}/decide/{name}/"


def change_url(obj) -> str:
    return f"/admin/{obj._meta.app_label}/{obj._meta.model_name}/{obj.pk}/change/"


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in response.context["messages"]]


def reviews_of(obj) -> list[ComplianceReview]:
    return list(
        ComplianceReview.objects.filter(content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk)
    )


@pytest.fixture
def logged_in(make_user):
    def make(role: str = "compliance") -> Client:
        user, _ = make_user(role)
        client = Client()
        client.force_login(user)
        client.user = user
        return client

    return make


@pytest.fixture
def issuer(make_user):
    return make_user("issuer")[0]


# --- declarations --------------------------------------------------------------------------------


def test_every_decision_declares_a_permission_with_a_check_and_has_a_row_in_the_matrix():
    declared = {}
    for model_admin, decision in declared_decisions():
        assert callable(getattr(model_admin, f"has_{decision.permission}_permission", None)), decision
        declared[(model_admin.model._meta.label_lower, str(decision.name))] = decision
    assert set(declared) == set(EXPECTED)


@pytest.mark.parametrize("role", ["compliance", "operator"])
def test_each_staff_role_sees_exactly_its_decision_buttons(role, logged_in, issuer):
    client = logged_in(role)
    campaign = make_campaign(issuer, title="Series A for solar")  # pending review
    page = client.get(change_url(campaign))
    assert page.status_code == 200
    offered = {str(item["decision"].name) for item in page.context["decisions"]}
    expected = {
        name for (label, name), roles in EXPECTED.items() if label == "campaigns.campaign" and role in roles
    }
    assert offered == expected
    assert ('id="decisions"' in page.content.decode()) == bool(expected)


def test_buttons_follow_the_objects_state(logged_in, issuer):
    client = logged_in()
    approved = make_company(issuer, approved=True, name="Approved Already SE")
    page = client.get(change_url(approved))
    assert page.context["decisions"] == [] and b'id="decisions"' not in page.content
    active = make_campaign(issuer, status=CampaignStatus.ACTIVE, title="Live campaign")
    offered = {str(item["decision"].name) for item in client.get(change_url(active)).context["decisions"]}
    assert offered == {"cancel"}  # no review of a live campaign, but compliance may still cancel it


def test_reviewed_pages_are_read_only_without_a_save_row(logged_in, issuer):
    client = logged_in()
    company = make_company(issuer, name="Readonly Robotics GmbH")
    page = client.get(change_url(company))
    html = page.content.decode()
    assert page.status_code == 200 and 'name="_save"' not in html and 'name="_continue"' not in html
    assert 'id="decide-approve"' in html  # decisions instead of a Save button
    # A POST to the change form changes nothing (the admin refuses it as view-only).
    refused = client.post(change_url(company), {"legal_name": "Renamed"})
    assert refused.status_code == 403
    company.refresh_from_db()
    assert company.legal_name == "Readonly Robotics GmbH"


# --- companies -------------------------------------------------------------------------------------


@pytest.mark.chain
def test_compliance_approves_a_company_from_its_page(contracts, logged_in, issuer):
    client = logged_in()
    company = make_company(issuer, name="Detail Page Robotics GmbH")
    response = client.post(decide_url(company, "approve"), {"action": "approve", "apply": "1"}, follow=True)
    assert response.redirect_chain == [(change_url(company), 302)]
    assert messages_of(response) == [
        ("success", "Company “Detail Page Robotics GmbH” approved; its registration on chain was requested.")
    ]
    company.refresh_from_db()
    assert (company.kyb_status, company.registration_status, company.reviewed_by) == (
        KybStatus.APPROVED,
        RegistrationStatus.REGISTERING,
        client.user,
    )
    [review] = reviews_of(company)
    assert (review.decision, review.officer, review.from_status, review.to_status) == (
        "approve",
        client.user,
        KybStatus.PENDING,
        KybStatus.APPROVED,
    )
    registration = ChainTransaction.objects.get(kind=REGISTER_KIND, object_id=company.pk)
    # The audit log names the decision like a changelist action, with the row and transaction.
    event = AuditEvent.objects.get(source="admin", actor=client.user)
    assert event.action.endswith("_decide:approve")
    assert (event.subject_type, event.subject_id) == ("issuers.company", str(company.pk))
    assert event.outbox_ids == [registration.pk]
    # The page no longer offers a decision on a company already decided.
    assert client.get(change_url(company)).context["decisions"] == []


def test_an_operator_cannot_decide_on_a_company_and_nothing_changes(logged_in, issuer):
    operator = logged_in("operator")
    company = make_company(issuer, name="Not Yours GmbH")
    for name, data in (("approve", {}), ("reject", {"notes": "looks wrong"})):
        response = operator.post(
            decide_url(company, name), {"action": name, "apply": "1", **data}, follow=True
        )
        assert response.redirect_chain == [(change_url(company), 302)]
        [(level, text)] = messages_of(response)
        assert level == "error" and "is for compliance officers only" in text and "Not Yours GmbH" in text
    company.refresh_from_db()
    assert company.kyb_status == KybStatus.PENDING and company.reviewed_by is None
    assert reviews_of(company) == [] and not ChainTransaction.objects.exists()
    # Nor does the page that asks for notes open for them.
    page = operator.get(decide_url(company, "reject"), follow=True)
    assert page.redirect_chain == [(change_url(company), 302)] and messages_of(page)[0][0] == "error"


def test_rejecting_a_company_asks_for_notes_on_a_titled_page(logged_in, issuer):
    client = logged_in()
    company = make_company(issuer, name="Shady Shell Ltd")
    page = client.get(decide_url(company, "reject"))
    assert page.status_code == 200
    assert page.context["title"] == "Reject KYB: company “Shady Shell Ltd”"
    assert "<h1>Reject KYB: company “Shady Shell Ltd”</h1>" in page.content.decode()
    assert "sees these notes as the reason" in page.content.decode()

    # Without notes: the page again, saying what is missing; nothing is decided.
    again = client.post(decide_url(company, "reject"), {"action": "reject", "apply": "1", "notes": "  "})
    assert again.status_code == 200 and again.context["errors"] == ["Write the notes for this decision."]
    company.refresh_from_db()
    assert company.kyb_status == KybStatus.PENDING and reviews_of(company) == []

    done = client.post(
        decide_url(company, "reject"),
        {"action": "reject", "apply": "1", "notes": "Registry extract does not match"},
        follow=True,
    )
    assert messages_of(done) == [
        ("success", "Company “Shady Shell Ltd” rejected; its owner sees your notes as the reason.")
    ]
    company.refresh_from_db()
    assert (company.kyb_status, company.rejection_reason) == (
        KybStatus.REJECTED,
        "Registry extract does not match",
    )
    assert [r.decision for r in reviews_of(company)] == ["reject"]


def test_a_decision_the_service_refuses_is_an_error_and_changes_nothing(logged_in, issuer):
    client = logged_in()
    company = make_company(issuer, name="Twice Decided AG")
    Company.objects.filter(pk=company.pk).update(kyb_status=KybStatus.REJECTED)  # decided meanwhile
    response = client.post(
        decide_url(company, "reject"), {"action": "reject", "apply": "1", "notes": "again"}, follow=True
    )
    [(level, text)] = messages_of(response)
    assert level == "error"
    assert text == (
        "Reject KYB refused: The company's KYB is rejected; only a pending one can be reviewed. "
        "Twice Decided AG was not changed."
    )
    company.refresh_from_db()
    assert company.kyb_status == KybStatus.REJECTED and company.rejection_reason == ""
    assert reviews_of(company) == [] and not AuditEvent.objects.filter(source="admin").exists()


def test_unknown_decisions_and_objects_are_404(logged_in, issuer):
    client = logged_in()
    company = make_company(issuer)
    assert client.get(decide_url(company, "delete")).status_code == 404
    assert client.get(f"/admin/issuers/company/{company.pk + 1000}/decide/approve/").status_code == 404


# --- campaigns -------------------------------------------------------------------------------------


@pytest.mark.chain
def test_compliance_approves_a_campaign_from_its_page(contracts, logged_in, issuer):
    client = logged_in()
    campaign = make_campaign(issuer, title="Demo Solar")
    response = client.post(decide_url(campaign, "approve"), {"action": "approve", "apply": "1"}, follow=True)
    assert messages_of(response) == [("success", "Campaign “Demo Solar” approved; deployment requested.")]
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DEPLOYING
    assert ChainTransaction.objects.filter(kind=CREATE_KIND, object_id=campaign.pk).count() == 1


def test_compliance_rejects_a_campaign_with_notes_from_its_page(logged_in, issuer):
    client = logged_in()
    campaign = make_campaign(issuer, title="Moonshot Fund")
    page = client.get(decide_url(campaign, "reject"))
    assert page.context["title"] == "Reject: campaign “Moonshot Fund”"
    response = client.post(
        decide_url(campaign, "reject"),
        {"action": "reject", "apply": "1", "notes": "Projections are not substantiated"},
        follow=True,
    )
    assert messages_of(response) == [
        ("success", "Campaign “Moonshot Fund” rejected; the issuer sees your notes as the reason.")
    ]
    campaign.refresh_from_db()
    assert (campaign.status, campaign.cancellation_reason) == (
        CampaignStatus.CANCELLED,
        "Projections are not substantiated",
    )
    [review] = reviews_of(campaign)
    assert (review.decision, review.notes, review.to_status) == (
        "reject",
        "Projections are not substantiated",
        CampaignStatus.CANCELLED,
    )
    assert "Projections are not substantiated" in response.content.decode()  # the inline history


def test_requesting_changes_sends_a_campaign_back_to_draft(logged_in, issuer):
    client = logged_in()
    campaign = make_campaign(issuer, title="Bike Sharing Seed")
    response = client.post(
        decide_url(campaign, "request_changes"),
        {"action": "request_changes", "apply": "1", "notes": "Add the risk factors"},
        follow=True,
    )
    assert messages_of(response) == [
        ("success", "Changes to campaign “Bike Sharing Seed” requested; it is back in draft with the issuer.")
    ]
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT


def test_an_operator_cannot_reject_a_campaign(logged_in, issuer):
    operator = logged_in("operator")
    campaign = make_campaign(issuer, title="Guarded Campaign")
    response = operator.post(
        decide_url(campaign, "reject"), {"action": "reject", "apply": "1", "notes": "no"}, follow=True
    )
    [(level, text)] = messages_of(response)
    assert (
        level == "error"
        and text == "“Reject” is for compliance officers only: Guarded Campaign was not changed."
    )
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.PENDING_REVIEW and reviews_of(campaign) == []


def test_a_bulk_decision_names_what_happened(logged_in, issuer):
    client = logged_in()
    campaign = make_campaign(issuer, title="Bulk Rejected")
    response = client.post(
        "/admin/campaigns/campaign/",
        {"action": "reject", "_selected_action": [campaign.pk], "apply": "1", "notes": "Out of scope"},
        follow=True,
    )
    assert ("success", "1 campaign(s) rejected.") in messages_of(response)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.CANCELLED


# --- investments -----------------------------------------------------------------------------------


def held_investment(issuer, investor) -> Investment:
    campaign = make_campaign(issuer, status=CampaignStatus.ACTIVE, title="Live campaign")
    investment = Investment.objects.create(
        investment_ref="0x" + uuid.uuid4().hex * 2,
        campaign=campaign,
        investor=investor,
        investor_wallet=Account.create().address,
        amount=Decimal("12000"),
        status=InvestmentStatus.HELD_FOR_REVIEW,
    )
    AMLAlert.objects.create(
        investment=investment,
        rule="large_amount",
        score=60,
        details={"amount": "12000.000000", "threshold": "10000"},
    )
    return investment


def test_rejecting_a_held_investment_needs_the_customer_reason_and_keeps_notes_staff_only(
    logged_in, issuer, make_user
):
    client = logged_in()
    investment = held_investment(issuer, make_user("investor")[0])
    page = client.get(decide_url(investment, "reject"))
    html = page.content.decode()
    assert page.context["title"] == f"Reject: investment “#{investment.pk}, 12,000.00 USD in Live campaign”"
    assert 'name="reason"' in html and "never shown to the investor" in html
    # A reason outside the fixed list: the page again with the notes kept, nothing decided.
    again = client.post(
        decide_url(investment, "reject"),
        {"action": "reject", "apply": "1", "notes": "Source of funds unclear", "reason": "tipping_off"},
    )
    assert again.context["errors"] == ["Choose a reason from the list."]
    assert "Source of funds unclear" in again.content.decode()
    investment.refresh_from_db()
    assert investment.status == InvestmentStatus.HELD_FOR_REVIEW

    done = client.post(
        decide_url(investment, "reject"),
        {
            "action": "reject",
            "apply": "1",
            "notes": "Source of funds unclear",
            "reason": "documents_required",
        },
        follow=True,
    )
    [(level, text)] = messages_of(done)
    assert level == "success" and text == (
        f"Investment #{investment.pk}, 12,000.00 USD in Live campaign rejected; the investor is told: "
        "“We need further documents from you before we can accept this investment.”"
    )
    investment.refresh_from_db()
    assert (investment.status, investment.rejection_reason, investment.rejection_notes) == (
        InvestmentStatus.REJECTED,
        "documents_required",
        "Source of funds unclear",
    )


def test_a_superuser_gets_every_decision(django_user_model, issuer):
    root = django_user_model.objects.create_superuser("root", "root@example.com", "x" * 16)
    client = Client()
    client.force_login(root)
    campaign = make_campaign(issuer)
    offered = {str(item["decision"].name) for item in client.get(change_url(campaign)).context["decisions"]}
    assert offered == {"approve", "reject", "request_changes", "cancel"}
