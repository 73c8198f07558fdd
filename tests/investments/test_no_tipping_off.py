"""No tipping off (#20 item 7): an investor never learns what compliance or the sanctions screening
found. Every answer an investor can get that carries an investment shows the status and, when
rejected, a reason from the fixed customer-facing list; the AML flags and the officer's notes stay
with compliance and operators."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from campaigns import services
from campaigns.models import Investment, InvestmentStatus, RejectionReason, SanctionedWallet
from core.api import DomainError
from issuers.models import ComplianceReview
from tests.investments.conftest import client_of

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

NOTES = "Structuring pattern; SAR filed."
# Nothing of these may reach an investor: staff-only keys, the notes, and any hint of screening.
STAFF_KEYS = {"aml", "flags", "rule", "score", "details", "rejection_notes"}
HINTS = ("structuring", "sar filed", "sanction", "ofac", "large_amount", "screening", "flagged")

# Every operation whose answer carries an investment as its investor sees it (the schema's
# `Investment`); test_the_walk_covers_every_operation_that_answers_with_an_investment keeps this
# list complete, so a new endpoint that returns investments is walked too.
INVESTOR_OPERATIONS = {
    ("post", "/api/campaigns/{id}/investments/"),
    ("get", "/api/investments/"),
    ("get", "/api/investments/{id}/"),
    ("post", "/api/investments/{id}/cancel/"),
}
STAFF_OPERATIONS = {("post", "/api/investments/{id}/review/")}  # compliance only (permission matrix)


@pytest.fixture
def setup(open_campaign, make_investor, settings):
    settings.AML_LARGE_AMOUNT = Decimal("10000")
    settings.AML_VELOCITY_MAX_COUNT = 20
    settings.AML_STRUCTURING_COUNT = 20
    campaign = open_campaign(hard_cap="1000000")
    user, client, wallet = make_investor(annual_income="5000000", net_worth="5000000")
    return campaign, user, client, wallet


def _keys(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for item in value.values() for k in _keys(item)}
    if isinstance(value, list):
        return {k for item in value for k in _keys(item)}
    return set()


def assert_nothing_staff_only(response) -> None:
    assert response.status_code in (200, 202), response.json()
    assert not _keys(response.json()) & STAFF_KEYS, response.json()
    text = response.content.decode().lower()
    assert not [hint for hint in HINTS if hint in text], response.json()


class Investor:
    """An investor's API client that checks every answer and records which operations it walked."""

    def __init__(self, client) -> None:
        self.client, self.walked = client, set()

    def call(self, operation: tuple[str, str], url: str, body: dict | None = None) -> dict:
        method, _path = operation
        response = getattr(self.client, method)(url, body, format="json")
        assert_nothing_staff_only(response)
        self.walked.add(operation)
        return response.json()

    def invest(self, campaign, amount) -> dict:
        return self.call(
            ("post", "/api/campaigns/{id}/investments/"),
            f"/api/campaigns/{campaign.pk}/investments/",
            {"amount": str(amount)},
        )

    def everything(self) -> list[dict]:
        """The list (also filtered), and each investment's detail."""
        listed = self.call(("get", "/api/investments/"), "/api/investments/")["results"]
        for status in ("rejected", "held_for_review", "cancelled"):
            self.call(("get", "/api/investments/"), f"/api/investments/?status={status}")
        return [self.call(("get", "/api/investments/{id}/"), f"/api/investments/{i['id']}/") for i in listed]


def _reject(officer, investment_id: int, reason: str, notes: str = NOTES) -> dict:
    response = client_of(officer).post(
        f"/api/investments/{investment_id}/review/",
        {"decision": "reject", "reason": reason, "notes": notes},
        format="json",
    )
    assert response.status_code == 200, response.json()
    return response.json()


def test_an_investor_never_sees_the_notes_the_flags_or_a_sanctions_hint(setup, officer, make_investor):
    campaign, _user, client, _wallet = setup
    investor = Investor(client)
    clear = investor.invest(campaign, 10)
    held = investor.invest(campaign, 12000)  # large_amount: held
    assert clear["status"] == "recording" and held["status"] == "held_for_review"
    _reject(officer, held["id"], "documents_required")
    withdrawn = investor.invest(campaign, 11000)
    cancelled = investor.call(
        ("post", "/api/investments/{id}/cancel/"), f"/api/investments/{withdrawn['id']}/cancel/"
    )
    assert cancelled["status"] == "cancelled"

    by_id = {i["id"]: i for i in investor.everything()}
    rejected = by_id[held["id"]]
    assert rejected["status"] == "rejected" and rejected["rejection_reason"] == "documents_required"
    assert rejected["rejection_message"] == RejectionReason.DOCUMENTS_REQUIRED.label
    assert by_id[clear["id"]]["rejection_reason"] == "" and by_id[clear["id"]]["rejection_message"] == ""

    # The sanctions screening's automatic rejection reads like any other refusal.
    _sanctioned_user, sanctioned_client, sanctioned_wallet = make_investor()
    SanctionedWallet.objects.create(address=sanctioned_wallet.address, source="OFAC SDN", note="SDN list")
    sanctioned = Investor(sanctioned_client)
    refused = sanctioned.invest(campaign, 10)
    assert refused["status"] == "rejected" and refused["rejection_reason"] == "other"
    assert refused["rejection_message"] == RejectionReason.OTHER.label
    (again,) = sanctioned.everything()
    assert again["rejection_reason"] == "other"
    assert investor.walked | sanctioned.walked == INVESTOR_OPERATIONS


def test_the_walk_covers_every_operation_that_answers_with_an_investment():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert operations_answering_with("Investment", schema) == INVESTOR_OPERATIONS
    assert operations_answering_with("StaffInvestment", schema) == STAFF_OPERATIONS


def test_compliance_and_operators_still_see_the_flags_and_the_notes(setup, officer, make_investor, make_user):
    campaign, _user, client, _wallet = setup
    held = Investor(client).invest(campaign, 12000)
    reviewed = _reject(officer, held["id"], "not_eligible")
    assert {f["rule"] for f in reviewed["aml"]["flags"]} == {"large_amount"}
    assert reviewed["rejection_notes"] == NOTES
    _sanctioned_user, sanctioned_client, sanctioned_wallet = make_investor()
    SanctionedWallet.objects.create(address=sanctioned_wallet.address, source="OFAC SDN")
    refused = Investor(sanctioned_client).invest(campaign, 10)

    operator, _ = make_user("operator")
    for staff in (officer, operator):
        staff_client = client_of(staff)
        detail = staff_client.get(f"/api/investments/{held['id']}/").json()
        assert {f["rule"] for f in detail["aml"]["flags"]} == {"large_amount"}
        assert detail["aml"]["flags"][0]["score"] > 0
        assert detail["rejection_reason"] == "not_eligible" and detail["rejection_notes"] == NOTES
        screened = staff_client.get(f"/api/investments/{refused['id']}/").json()
        assert {f["rule"] for f in screened["aml"]["flags"]} == {"sanctioned_wallet"}
        assert "sanctions" in screened["rejection_notes"] and screened["rejection_reason"] == "other"
        listed = staff_client.get("/api/investments/?status=rejected").json()["results"]
        assert {i["id"] for i in listed} == {held["id"], refused["id"]} and all("aml" in i for i in listed)
    review = ComplianceReview.objects.get(object_id=held["id"], decision="reject")
    assert review.notes == NOTES


def test_a_rejection_needs_a_reason_from_the_list(setup, officer):
    campaign, _user, client, _wallet = setup
    held = Investor(client).invest(campaign, 12000)
    reviewer = client_of(officer)
    for body in (
        {"decision": "reject", "notes": NOTES},  # no reason
        {"decision": "reject", "notes": NOTES, "reason": NOTES},  # free text is not a reason
        {"decision": "release", "reason": "other"},  # a release has none
    ):
        response = reviewer.post(f"/api/investments/{held['id']}/review/", body, format="json")
        assert response.status_code == 400 and "reason" in response.json()["errors"], response.json()
    investment = Investment.objects.get(pk=held["id"])
    for reason in ("", "sanctioned wallet"):  # the service refuses too (admin, scripts)
        with pytest.raises(DomainError):
            services.review_investment(
                investment=investment, officer=officer, decision="reject", notes=NOTES, reason=reason
            )
    investment.refresh_from_db()
    assert investment.status == InvestmentStatus.HELD_FOR_REVIEW and investment.rejection_reason == ""


def test_the_admin_reject_action_asks_for_the_customer_facing_reason(setup, officer):
    campaign, _user, client, _wallet = setup
    held = Investor(client).invest(campaign, 12000)
    admin = Client()
    admin.force_login(officer)
    selected = {"action": "reject", "_selected_action": [held["id"]]}
    form = admin.post("/admin/campaigns/investment/", selected)
    assert form.status_code == 200 and b'name="reason"' in form.content
    assert all(f'value="{value}"'.encode() in form.content for value in RejectionReason.values)
    no_reason = admin.post("/admin/campaigns/investment/", {**selected, "apply": "1", "notes": NOTES})
    assert no_reason.status_code == 302
    assert Investment.objects.get(pk=held["id"]).status == InvestmentStatus.HELD_FOR_REVIEW
    done = admin.post(
        "/admin/campaigns/investment/", {**selected, "apply": "1", "notes": NOTES, "reason": "jurisdiction"}
    )
    assert done.status_code == 302
    investment = Investment.objects.get(pk=held["id"])
    assert investment.status == InvestmentStatus.REJECTED and investment.rejection_reason == "jurisdiction"
    assert investment.rejection_notes == NOTES
    assert ComplianceReview.objects.get(object_id=held["id"], decision="reject").notes == NOTES
    mine = client.get(f"/api/investments/{held['id']}/")
    assert_nothing_staff_only(mine)
    assert mine.json()["rejection_reason"] == "jurisdiction"


# --- which operations answer with what (from the OpenAPI schema the app serves) -------------------


def _refs(node) -> set[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        own = {ref.rsplit("/", 1)[-1]} if isinstance(ref, str) else set()
        return own | {name for value in node.values() for name in _refs(value)}
    if isinstance(node, list):
        return {name for value in node for name in _refs(value)}
    return set()


def operations_answering_with(component: str, schema: dict) -> set[tuple[str, str]]:
    """(method, path) of every operation whose success answer holds `component`, directly or in a
    component that holds it (a paginated list)."""
    components = schema["components"]["schemas"]
    holders, grown = {component}, True
    while grown:
        found = {name for name, body in components.items() if _refs(body) & holders} - holders
        holders |= found
        grown = bool(found)
    return {
        (method, path)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if any(
            code.startswith("2") and _refs(answer) & holders
            for code, answer in operation.get("responses", {}).items()
        )
    }


def test_a_refused_rejection_reason_lists_the_valid_ones(setup, officer):
    """Without a reason, or with one not on the list, the 400 names every valid reason (message and
    `valid_reasons`) so the officer can correct it; the input is not echoed."""
    campaign, _user, client, _wallet = setup
    held = Investor(client).invest(campaign, 12000)
    valid = list(RejectionReason.values)
    for body in (
        {"decision": "reject", "notes": NOTES},
        {"decision": "reject", "notes": NOTES, "reason": "bogus"},
    ):
        response = client_of(officer).post(f"/api/investments/{held['id']}/review/", body, format="json")
        assert response.status_code == 400, response.json()
        answer = response.json()
        assert answer["valid_reasons"] == valid and "reason" in answer["errors"]
        assert all(reason in answer["message"] for reason in valid)
        assert "bogus" not in answer["message"]
