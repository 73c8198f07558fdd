"""Partners hear the issuance story as the API tells it: a campaign going live, an investment
confirmed once its recording is confirmed, a cancel once the chain says so (`cancelling` until then),
a failed campaign's refunds, and a successful campaign's certificates."""

from __future__ import annotations

import pytest

from tests.investments.test_investing import invest
from tests.support.issuance import end_campaign
from tests.support.outbox import settle_outbox
from tests.support.webhook_receiver import partner_endpoint

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

EVENTS = [
    "campaign.active",
    "campaign.successful",
    "campaign.failed",
    "campaign.cancelled",
    "campaign.updated",
    "investment.held",
    "investment.confirmed",
    "investment.rejected",
    "investment.cancelled",
    "investment.refunded",
    "investment.updated",
    "certificate.minted",
    "certificate.transferred",
]


@pytest.fixture
def partner(auth_client):
    with partner_endpoint(auth_client("operator"), EVENTS) as receiver:
        yield receiver


def _of(events, prefix: str) -> list[tuple[str, dict]]:
    return [(t, d) for t, d in events if t.startswith(prefix)]


def test_a_campaign_going_live_and_an_investment_confirmed_then_cancelled(
    partner, open_campaign, make_investor
):
    campaign = open_campaign()
    assert [t for t, d in partner.events() if d.get("id") == campaign.pk] == ["campaign.active"]
    _user, client, _wallet = make_investor()
    investment = invest(client, campaign, "300").json()
    assert _of(partner.events(), "investment.") == [], "recording is not confirmed"
    settle_outbox()
    (confirmed,) = _of(partner.events(), "investment.")
    assert confirmed[0] == "investment.confirmed" and confirmed[1]["id"] == investment["id"]
    assert confirmed[1]["status"] == "confirmed" and "aml" not in confirmed[1], "no staff-only fields"

    assert client.post(f"/api/investments/{investment['id']}/cancel/").status_code == 202
    assert [t for t, _ in _of(partner.events(), "investment.")] == [
        "investment.confirmed",
        "investment.updated",
    ]
    assert _of(partner.events(), "investment.")[1][1]["status"] == "cancelling"
    settle_outbox()
    types = [t for t, _ in _of(partner.events(), "investment.")]
    assert types == ["investment.confirmed", "investment.updated", "investment.cancelled"]


def test_a_failed_campaign_announces_itself_and_its_refunds(partner, open_campaign, make_investor):
    campaign = open_campaign(goal="5000")
    _user, client, _ = make_investor()
    investment = invest(client, campaign, "100").json()
    settle_outbox()
    end_campaign(campaign)
    events = partner.events()
    assert ("campaign.failed", campaign.pk) in [(t, d.get("id")) for t, d in events]
    refunded = [d for t, d in events if t == "investment.refunded"]
    assert [d["id"] for d in refunded] == [investment["id"]] and refunded[0]["status"] == "refunded"


def test_a_successful_campaign_announces_its_certificates(partner, open_campaign, make_investor):
    campaign = open_campaign(goal="100")
    _user, client, _ = make_investor()
    invest(client, campaign, "150")
    settle_outbox()
    end_campaign(campaign)
    settle_outbox()  # the certificates' mintBatch
    events = partner.events()
    assert ("campaign.successful", campaign.pk) in [(t, d.get("id")) for t, d in events]
    minted = [d for t, d in events if t == "certificate.minted"]
    assert len(minted) == 1 and minted[0]["token_id"] is not None and minted[0]["status"] == "minted"
