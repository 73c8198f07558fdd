"""`allowed_actions` lists only what the caller may do, and what it lists the API lets them do.

A campaign's actions depend on its state, on the caller's role (the view's permissions) and, for an
issuer, on owning the company and on the campaign not being active yet (only compliance cancels a
live campaign). The offered list is checked against a table for every role and state, and then
against the API itself: every offered action gets past the permission and state checks, every other
action the state allows is refused.
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from eth_account import Account
from rest_framework.test import APIClient

from campaigns.models import Campaign
from campaigns.services import actions_from
from issuers.models import Company, KybStatus, RegistrationStatus
from tests.support.issuance import CID, NOT_STARTED
from tests.support.users import create_user, jwt_client

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

_refs = itertools.count(1)
STATES = ["draft", "pending_review", "approved", "active", "successful", "failed", "cancelled"]
ROLES = ["owner", "other_issuer", "compliance", "operator", "investor", "anonymous"]

# role → state → offered actions (states a role cannot see at all are absent: 404 there)
OFFERED = {
    "owner": {
        "draft": ["submit", "cancel"],
        "pending_review": ["cancel"],
        "approved": ["cancel"],
        # An issuer no longer cancels a live campaign, and this one (not started, goal unmet) cannot
        # close yet: the close rules refuse it, so it is not offered.
        "active": [],
        "successful": [],
        "failed": [],
        "cancelled": [],
    },
    "other_issuer": {"active": [], "successful": []},  # public ones only, none of them its own
    "compliance": {
        "draft": ["cancel"],
        "pending_review": ["approve", "reject", "request_changes", "cancel"],
        "approved": ["deploy", "cancel"],
        "active": ["cancel"],  # close: too early, goal unmet
        "successful": [],
        "failed": [],
        "cancelled": [],
    },
    "operator": {state: ["deploy"] if state == "approved" else [] for state in STATES},
    "investor": {"active": [], "successful": []},
    "anonymous": {"active": [], "successful": []},
}

# How each action is asked for.
REQUESTS = {
    "submit": ("submit/", {}),
    "approve": ("review/", {"decision": "approve"}),
    "reject": ("review/", {"decision": "reject", "notes": "not ready"}),
    "request_changes": ("review/", {"decision": "request_changes", "notes": "fix the deck"}),
    "deploy": ("deploy/", {}),
    "close": ("close/", {}),
    "cancel": ("cancel/", {"reason": "changed plans"}),
}


@pytest.fixture
def people(db):
    owner = create_user("issuer")[0]
    clients = {"owner": jwt_client(owner), "anonymous": APIClient()}
    for role in ("compliance", "operator", "investor"):
        clients[role] = jwt_client(create_user(role)[0])
    clients["other_issuer"] = jwt_client(create_user("issuer")[0])
    return owner, clients


def campaign_in(state: str, *, owner) -> Campaign:
    """A campaign of `state` of its own registered company (one campaign in progress per company),
    written to the DB without chain intents; live ones have a contract address."""
    company = Company.objects.create(
        owner=owner,
        legal_name=f"Allowed {next(_refs)} AG",
        registration_number=f"CHE-A{next(_refs)}",
        country="CH",
        wallet_address=Account.create().address,
        document_cid=CID,
        kyb_status=KybStatus.APPROVED,
        registration_status=RegistrationStatus.REGISTERED,
    )
    starts = NOT_STARTED  # a run that has not begun, whatever day the suite runs
    live = state in ("active", "successful", "failed")
    campaign = Campaign(
        issuer=company,
        title=f"{state} campaign",
        goal=Decimal(1000),
        hard_cap=Decimal(2000),
        min_investment=Decimal(1),
        share_price=Decimal(1),
        starts_at=starts,
        ends_at=starts + timedelta(days=30),
        status=state,
        campaign_ref="0x" + f"{next(_refs):064x}",
        contract_address=Account.create().address if live else "",
    )
    Campaign.objects.bulk_create([campaign])  # no post_save: no intent for a made-up state
    return Campaign.objects.get(campaign_ref=campaign.campaign_ref)


@pytest.mark.parametrize("role", ROLES)
def test_each_caller_is_offered_only_its_own_actions(people, role):
    owner, clients = people
    for state in STATES:
        campaign = campaign_in(state, owner=owner)
        response = clients[role].get(f"/api/campaigns/{campaign.pk}/")
        if state not in OFFERED[role]:
            assert response.status_code == 404, (role, state, response.status_code)
            continue
        assert response.status_code == 200, (role, state, response.json())
        assert response.json()["allowed_actions"] == OFFERED[role][state], (role, state)


@pytest.mark.parametrize("role", ROLES)
def test_what_is_offered_is_allowed_and_nothing_else_is(contracts, people, role):
    """Each action the state allows, on a fresh campaign: offered → done (no business rule refuses
    an offered action: allowed_actions asks the services' own rule checks); not offered → refused,
    by the role, ownership or state checks or by a business rule (409)."""
    owner, clients = people
    for state in STATES:
        offered = OFFERED[role].get(state, [])
        for action in actions_from(state):
            campaign = campaign_in(state, owner=owner)
            path, body = REQUESTS[action]
            response = clients[role].post(f"/api/campaigns/{campaign.pk}/{path}", body, format="json")
            if action in offered:
                assert response.status_code < 400, (role, state, action, response.json())
            else:
                refused = response.status_code in (401, 403, 404, 409)
                assert refused, (role, state, action, response.status_code, response.json())


def test_a_refused_transition_names_what_the_caller_may_do_instead(people):
    owner, clients = people
    active = campaign_in("active", owner=owner)
    as_owner = clients["owner"].post(f"/api/campaigns/{active.pk}/cancel/", {}, format="json")
    assert as_owner.status_code == 409 and as_owner.json()["allowed_actions"] == []
    pending = campaign_in("pending_review", owner=owner)
    as_officer = clients["compliance"].post(f"/api/campaigns/{pending.pk}/close/", {}, format="json")
    assert as_officer.status_code == 409
    assert as_officer.json()["allowed_actions"] == ["approve", "reject", "request_changes", "cancel"]
    as_operator = clients["operator"].post(f"/api/campaigns/{pending.pk}/deploy/", {}, format="json")
    assert as_operator.status_code == 409 and as_operator.json()["allowed_actions"] == []
