"""`allowed_actions` offers only what the caller may do right now: the business rules the services
check (campaigns.services.rule_refusal / invest_refusal) decide it, so an offered action never ends
in the 409 of one of those rules, and a refused one is not offered.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from eth_account import Account

from campaigns import services as campaign_services
from campaigns.models import Campaign
from issuers.models import Company, KybStatus, RegistrationStatus
from tests.investments.conftest import client_of
from tests.support.issuance import CID, NOT_STARTED, opened_long_ago
from tests.support.outbox import settle_outbox

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


def actions(client, campaign) -> list[str]:
    response = client.get(f"/api/campaigns/{campaign.pk}/")
    assert response.status_code == 200, response.json()
    return response.json()["allowed_actions"]


def test_a_draft_of_an_unregistered_company_does_not_offer_submit(make_user):
    owner, _ = make_user("issuer")
    company = Company.objects.create(
        owner=owner,
        legal_name="Unregistered AG",
        registration_number="CHE-UNREG-1",
        country="CH",
        wallet_address=Account.create().address,
        document_cid=CID,
        kyb_status=KybStatus.PENDING,
        registration_status=RegistrationStatus.NOT_REQUESTED,
    )
    campaign = campaign_services.create_campaign(
        actor=owner,
        issuer=company,
        title="Too soon",
        goal=Decimal(1000),
        hard_cap=Decimal(2000),
        min_investment=Decimal(1),
        share_price=Decimal(1),
        starts_at=NOT_STARTED,
        ends_at=NOT_STARTED + timedelta(days=30),
    )
    client = client_of(owner)
    assert actions(client, campaign) == ["cancel"]
    refused = client.post(f"/api/campaigns/{campaign.pk}/submit/", {}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "issuer_not_registered"


def test_close_is_offered_only_when_the_goal_is_met_and_never_while_closing(
    open_campaign, make_investor, officer
):
    campaign = open_campaign(goal="100", hard_cap="1000", min_investment="10")
    opened_long_ago(campaign, days=30)  # past the minimum run: only the goal stands in the way
    owner = client_of(campaign.issuer.owner)
    compliance = client_of(officer)
    assert actions(owner, campaign) == []
    assert actions(compliance, campaign) == ["cancel"]
    refused = owner.post(f"/api/campaigns/{campaign.pk}/close/", {}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "goal_not_met"

    _user, investor, _wallet = make_investor()
    invested = investor.post(f"/api/campaigns/{campaign.pk}/investments/", {"amount": "100"}, format="json")
    assert invested.status_code == 202, invested.json()
    settle_outbox()
    assert actions(owner, campaign) == ["close"]
    assert actions(compliance, campaign) == ["close", "cancel"]

    closed = owner.post(f"/api/campaigns/{campaign.pk}/close/", {}, format="json")
    assert closed.status_code == 202, closed.json()
    assert closed.json()["status"] == "closing"
    assert closed.json()["allowed_actions"] == []
    assert actions(compliance, campaign) == ["cancel"]


def test_an_investor_is_offered_invest_only_when_they_may_invest(open_campaign, make_investor, auth_client):
    campaign = open_campaign(goal="100", hard_cap="1000", min_investment="10")
    _user, verified, _wallet = make_investor()
    _user, no_kyc, _wallet = make_investor(kyc=False)
    no_wallet = auth_client("investor")
    assert actions(verified, campaign) == ["invest"]
    assert actions(no_kyc, campaign) == []
    assert actions(no_wallet, campaign) == []
    assert actions(auth_client("compliance"), campaign) == ["cancel"]

    invested = verified.post(f"/api/campaigns/{campaign.pk}/investments/", {"amount": "995"}, format="json")
    assert invested.status_code == 202, invested.json()
    assert actions(verified, campaign) == []  # 5 left under the hard cap: less than the minimum of 10


def test_investing_before_the_start_says_when_the_campaign_opens(open_campaign, make_investor):
    campaign = open_campaign()
    Campaign.objects.filter(pk=campaign.pk).update(starts_at=NOT_STARTED)
    _user, client, _wallet = make_investor()
    assert actions(client, campaign) == []
    refused = client.post(f"/api/campaigns/{campaign.pk}/investments/", {"amount": "100"}, format="json")
    assert refused.status_code == 409
    body = refused.json()
    assert body["code"] == "campaign_not_open"
    assert body["opens_at"] == "2098-01-01T00:00:00Z"
    assert "2098-01-01 00:00 UTC" in body["message"]


def test_investing_without_a_bound_wallet_says_how_to_bind_one(open_campaign, auth_client):
    campaign = open_campaign()
    refused = auth_client("investor").post(
        f"/api/campaigns/{campaign.pk}/investments/", {"amount": "100"}, format="json"
    )
    assert refused.status_code == 409 and refused.json()["code"] == "wallet_not_bound"
    step = refused.json()["next_step"]
    assert step["action"] == "bind_wallet"
    assert step["challenge_endpoint"] == "POST /api/auth/wallet/challenge/"
    assert step["verify_endpoint"] == "POST /api/auth/wallet/verify/"
    assert "/api/auth/wallet/challenge/" in step["detail"] and "/api/auth/wallet/verify/" in step["detail"]
