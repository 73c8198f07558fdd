"""Statuses never contradict the `chain` object beside them: an investment reads `recording` until
recordInvestment is confirmed and `cancelling` from the investor's cancel until cancelInvestment is;
a campaign reads `deploying` until createCampaign is confirmed, `closing` while finalize() is on its
way and `cancelling` when a live campaign's cancel waits for it; a company is registered once
registerIssuer is confirmed. The indexer may apply an event from a block the outbox has not
confirmed yet (here: sent, indexed, not confirmed). The lists filter by the statuses they show."""

from __future__ import annotations

import pytest
from eth_account import Account

from blockchain.indexing.indexer import Indexer
from blockchain.outbox.confirmer import confirm_pending
from blockchain.outbox.sender import send_queued
from campaigns import services as campaign_services
from campaigns.models import Campaign, CampaignStatus, Investment, InvestmentStatus
from issuers import services as issuer_services
from issuers.models import Company, RegistrationStatus
from tests.investments.conftest import client_of
from tests.support.issuance import CID, RUN_ENDED_AT, move_run_into_the_past
from tests.support.issuance import open_campaign as open_campaign_of
from tests.support.outbox import settle_outbox

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


def invest(client, campaign, amount) -> dict:
    response = client.post(
        f"/api/campaigns/{campaign.pk}/investments/", {"amount": str(amount)}, format="json"
    )
    assert response.status_code == 202, response.json()
    return response.json()


def shown(client, url: str) -> tuple[str, str]:
    body = client.get(url).json()
    return body["status"], body["chain"]["status"]


def listed(client, url: str, status: str) -> list[int]:
    response = client.get(url, {"status": status})
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


def sent_and_indexed() -> None:
    """The transactions are mined (anvil automines) and the indexer applies their events, but the
    confirmer has not looked at the receipts yet: the outbox rows still read `sent`."""
    send_queued()
    Indexer().run()


def test_an_investment_reads_recording_until_its_record_is_confirmed(open_campaign, make_investor):
    campaign = open_campaign()
    _user, client, _wallet = make_investor()
    investment = invest(client, campaign, 100)
    url = f"/api/investments/{investment['id']}/"
    sent_and_indexed()
    assert Investment.objects.get(pk=investment["id"]).status == InvestmentStatus.CONFIRMED  # the event
    assert shown(client, url) == ("recording", "sent")
    assert listed(client, "/api/investments/", "recording") == [investment["id"]]
    assert listed(client, "/api/investments/", "confirmed") == []

    confirm_pending()
    assert shown(client, url) == ("confirmed", "confirmed")
    assert listed(client, "/api/investments/", "confirmed") == [investment["id"]]


def test_a_cancel_answers_cancelling_until_the_chain_confirms_it(open_campaign, make_investor):
    campaign = open_campaign()
    _user, client, _wallet = make_investor()
    investment = invest(client, campaign, 100)
    settle_outbox()
    url = f"/api/investments/{investment['id']}/"

    cancelled = client.post(f"{url}cancel/")
    assert cancelled.status_code == 202
    assert (cancelled.json()["status"], cancelled.json()["chain"]["status"]) == ("cancelling", "queued")
    assert Investment.objects.get(pk=investment["id"]).status == InvestmentStatus.CONFIRMED  # stored
    assert listed(client, "/api/investments/", "cancelling") == [investment["id"]]
    assert listed(client, "/api/investments/", "confirmed") == []

    sent_and_indexed()  # InvestmentCancelled applied, cancelInvestment still `sent`
    assert Investment.objects.get(pk=investment["id"]).status == InvestmentStatus.CANCELLED
    assert shown(client, url) == ("cancelling", "sent")

    confirm_pending()
    assert shown(client, url) == ("cancelled", "confirmed")
    assert listed(client, "/api/investments/", "cancelled") == [investment["id"]]


def test_cancelling_a_live_campaign_answers_cancelling_until_finalize_is_confirmed(open_campaign, officer):
    campaign = open_campaign()
    compliance = client_of(officer)
    url = f"/api/campaigns/{campaign.pk}/"
    response = compliance.post(f"{url}cancel/", {"reason": "misleading deck"}, format="json")
    assert response.status_code == 202  # the chain has work to do
    assert (response.json()["status"], response.json()["chain"]["status"]) == ("cancelling", "queued")
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.CANCELLED  # stored at once
    assert listed(compliance, "/api/campaigns/", "cancelling") == [campaign.pk]
    assert listed(compliance, "/api/campaigns/", "cancelled") == []

    settle_outbox()
    assert shown(compliance, url) == ("cancelled", "confirmed")
    assert listed(compliance, "/api/campaigns/", "cancelled") == [campaign.pk]


def test_a_campaign_reads_closing_while_finalize_is_on_its_way(open_campaign, make_investor, officer):
    campaign = open_campaign()
    compliance = client_of(officer)
    url = f"/api/campaigns/{campaign.pk}/"
    move_run_into_the_past(campaign)  # its run is over: the beat sweep asks for finalize()
    campaign_services.close_ended_campaigns(now=RUN_ENDED_AT)
    assert shown(compliance, url) == ("closing", "queued")

    sent_and_indexed()  # CampaignFinalized applied: the stored status is the outcome already
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.FAILED
    assert shown(compliance, url) == ("closing", "sent")
    assert listed(compliance, "/api/campaigns/", "closing") == [campaign.pk]

    confirm_pending()
    assert shown(compliance, url) == ("failed", "confirmed")


def test_a_campaign_reads_deploying_until_create_campaign_is_confirmed(contracts, officer, make_user):
    owner, _ = make_user("issuer")
    campaign = open_campaign_of(owner=owner, officer=officer, title="Deploying", settle=False)
    compliance = client_of(officer)
    url = f"/api/campaigns/{campaign.pk}/"
    sent_and_indexed()
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.ACTIVE  # CampaignCreated
    assert shown(compliance, url) == ("deploying", "sent")
    confirm_pending()
    assert shown(compliance, url) == ("active", "confirmed")


def test_a_company_is_registered_once_register_issuer_is_confirmed(contracts, officer, make_user):
    owner, _ = make_user("issuer")
    company = Company.objects.create(
        owner=owner,
        legal_name="Settling AG",
        registration_number="CHE-SETTLE",
        country="CH",
        wallet_address=Account.create().address,
        document_cid=CID,
    )
    issuer_services.review_company(company=company, officer=officer, decision="approve")
    compliance = client_of(officer)
    url = f"/api/issuers/{company.pk}/"
    sent_and_indexed()
    assert Company.objects.get(pk=company.pk).registration_status == RegistrationStatus.REGISTERED
    onchain = compliance.get(url).json()["onchain"]
    assert (onchain["registered"], onchain["status"], onchain["chain"]["status"]) == (
        False,
        "registering",
        "sent",
    )
    confirm_pending()
    onchain = compliance.get(url).json()["onchain"]
    assert (onchain["registered"], onchain["status"], onchain["chain"]["status"]) == (
        True,
        "registered",
        "confirmed",
    )
