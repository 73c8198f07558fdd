"""From company creation to an active campaign on anvil, and the chain-driven transitions after."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from eth_account import Account
from eth_utils import keccak

from blockchain.chain.amounts import to_base_units
from blockchain.chain.bindings import bound
from blockchain.indexing.indexer import Indexer
from blockchain.indexing.reconcile import run_reconcile
from blockchain.models import ChainTransaction, TxStatus
from campaigns import services as campaign_services
from campaigns.models import Campaign, CampaignStatus
from issuers.models import Company, ComplianceReview
from tests.support.chain import BORROWER, send
from tests.support.issuance import (
    draft_campaign,
    move_run_into_the_past,
    opened_long_ago,
    proven_company_body,
    registered_company,
)
from tests.support.outbox import settle_outbox

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


def test_company_to_active_campaign_with_its_address_read_back_from_the_chain(
    contracts, issuer, officer, api_client
):
    company = registered_company(issuer, officer)
    wallet = company["wallet_address"]
    assert company["kyb_status"] == "approved" and company["onchain"]["chain"]["status"] == "confirmed"
    assert bound("IssuerRegistry").call("isRegisteredIssuer", wallet) is True
    _registered, vc_hash, ipfs, *_ = bound("IssuerRegistry").call("issuerOf", wallet)
    assert "0x" + vc_hash.hex() == company["kyb_credential_fingerprint"] and ipfs == company["document_cid"]

    campaign = draft_campaign(issuer, company["id"])
    assert campaign["status"] == "draft" and campaign["chain"]["status"] == "not_requested"
    assert api_client.get(f"/api/campaigns/{campaign['id']}/").status_code == 404  # not public yet
    submitted = issuer.post(f"/api/campaigns/{campaign['id']}/submit/")
    assert submitted.status_code == 200 and submitted.json()["status"] == "pending_review"

    approved = officer.post(
        f"/api/campaigns/{campaign['id']}/review/", {"decision": "approve"}, format="json"
    )
    assert approved.status_code == 202
    assert approved.json()["status"] == "deploying" and approved.json()["chain"]["status"] == "queued"
    settle_outbox()

    active = api_client.get(f"/api/campaigns/{campaign['id']}/").json()  # public now
    assert active["status"] == "active" and active["chain"]["status"] == "confirmed"
    factory = bound("CampaignFactory")
    address = factory.call("campaignOf", bytes.fromhex(active["campaign_ref"][2:]))
    assert address == active["contract_address"]
    clone = bound("Campaign", address=address)
    assert clone.call("issuer") == wallet
    assert clone.call("goal") == to_base_units("100000.00") and clone.call("hardCap") == to_base_units(
        "250000.00"
    )
    assert clone.call("deadline") == int(Campaign.objects.get(pk=campaign["id"]).ends_at.timestamp())

    reviews = issuer.get(f"/api/campaigns/{campaign['id']}/reviews/").json()
    assert [(r["decision"], r["from_status"], r["to_status"]) for r in reviews] == [
        ("approve", "pending_review", "approved")
    ]
    Indexer().run()  # the indexer agrees with the receipt path, and nothing drifts
    assert Campaign.objects.get(pk=campaign["id"]).status == CampaignStatus.ACTIVE
    assert run_reconcile().drift_count == 0


def _active_campaign(issuer, officer, **kwargs) -> Campaign:
    company = registered_company(issuer, officer)
    campaign = draft_campaign(issuer, company["id"], **kwargs)
    assert issuer.post(f"/api/campaigns/{campaign['id']}/submit/").status_code == 200
    officer.post(f"/api/campaigns/{campaign['id']}/review/", {"decision": "approve"}, format="json")
    settle_outbox()
    row = Campaign.objects.get(pk=campaign["id"])
    assert row.status == CampaignStatus.ACTIVE
    return row


def test_failed_deployment_returns_to_approved_keeping_its_slot(contracts, issuer, officer):
    company = registered_company(issuer, officer)
    campaign = draft_campaign(issuer, company["id"])
    issuer.post(f"/api/campaigns/{campaign['id']}/submit/")
    # The issuer is revoked on chain behind the platform's back: createCampaign reverts.
    send(contracts["IssuerRegistry"], "IssuerRegistry", "revokeIssuer", company["wallet_address"])
    officer.post(f"/api/campaigns/{campaign['id']}/review/", {"decision": "approve"}, format="json")
    settle_outbox()
    row = issuer.get(f"/api/campaigns/{campaign['id']}/").json()
    assert row["status"] == "approved"
    assert row["chain"]["status"] == "failed" and row["chain"]["error"]["code"] == "IssuerNotRegistered"
    assert "IssuerNotRegistered" in row["last_chain_error"] and row["contract_address"] == ""
    # It still holds the company's in-progress slot: a second campaign cannot be submitted.
    other = draft_campaign(issuer, company["id"], title="Plan B")
    refused = issuer.post(f"/api/campaigns/{other['id']}/submit/")
    assert refused.status_code == 409 and refused.json()["code"] == "campaign_in_progress"

    # Registered again on chain; compliance re-deploys: a second intent, now active.
    send(
        contracts["IssuerRegistry"],
        "IssuerRegistry",
        "registerIssuer",
        company["wallet_address"],
        keccak(text="kyb"),
        company["document_cid"],
    )
    redeploy = officer.post(f"/api/campaigns/{campaign['id']}/deploy/")
    assert redeploy.status_code == 202 and redeploy.json()["status"] == "deploying"
    settle_outbox()
    assert Campaign.objects.get(pk=campaign["id"]).status == CampaignStatus.ACTIVE
    kinds = ChainTransaction.objects.filter(campaign__pk=campaign["id"]).order_by("id")
    assert list(kinds.values_list("status", flat=True)) == [TxStatus.FAILED, TxStatus.CONFIRMED]


def test_close_early_needs_21_days_open_and_the_goal_met(contracts, issuer, officer):
    campaign = _active_campaign(issuer, officer, starts_in=timedelta(0), days=60)
    too_early = issuer.post(f"/api/campaigns/{campaign.pk}/close/")
    assert too_early.status_code == 409 and too_early.json()["code"] == "too_early_to_close"

    opened_long_ago(campaign, days=22)
    not_met = issuer.post(f"/api/campaigns/{campaign.pk}/close/")
    assert not_met.status_code == 409 and not_met.json()["code"] == "goal_not_met"

    # An investment that meets the goal, recorded on chain directly; its event updates `raised`.
    send(
        campaign.contract_address,
        "Campaign",
        "recordInvestment",
        BORROWER,
        to_base_units("100000.00"),
        keccak(text="inv-1"),
    )
    Indexer().run()
    campaign.refresh_from_db()
    assert str(campaign.raised) == "100000.000000"
    closing = issuer.post(f"/api/campaigns/{campaign.pk}/close/")
    assert closing.status_code == 202 and closing.json()["status"] == "closing"  # until finalize confirms
    assert closing.json()["close_requested_at"]
    settle_outbox()
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SUCCESSFUL and campaign.closed_at
    assert bound("Campaign", address=campaign.contract_address).call("successful") is True
    assert issuer.post(f"/api/campaigns/{campaign.pk}/close/").status_code == 409


def test_beat_closes_campaigns_past_their_end_as_failed_when_short_of_the_goal(
    contracts, issuer, officer, chain
):
    campaign = _active_campaign(issuer, officer)
    assert campaign_services.close_ended_campaigns() == 0
    move_run_into_the_past(campaign)
    from campaigns.tasks import close_ended_campaigns

    assert close_ended_campaigns() == 1
    settle_outbox()
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.FAILED
    assert campaign_services.close_ended_campaigns() == 0


def test_compliance_cancels_an_active_campaign_and_its_contract_is_finalized(contracts, issuer, officer):
    campaign = _active_campaign(issuer, officer)
    by_issuer = issuer.post(
        f"/api/campaigns/{campaign.pk}/cancel/", {"reason": "changed my mind"}, format="json"
    )
    assert by_issuer.status_code == 409
    cancelled = officer.post(
        f"/api/campaigns/{campaign.pk}/cancel/", {"reason": "fraud alert"}, format="json"
    )
    assert cancelled.status_code == 202 and cancelled.json()["status"] == "cancelling"  # finalize() first
    settle_outbox()
    assert officer.get(f"/api/campaigns/{campaign.pk}/").json()["status"] == "cancelled"
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.CANCELLED and campaign.finalized_tx_hash
    assert bound("Campaign", address=campaign.contract_address).call("finalized") is True
    assert ComplianceReview.objects.filter(object_id=campaign.pk, notes="fraud alert").exists()


def test_company_registration_failure_and_retry(contracts, issuer, officer):
    wallet = Account.create()
    created = issuer.post(
        "/api/issuers/",
        proven_company_body(
            issuer, wallet=wallet, legal_name="Squatted BV", registration_number="KVK-1", country="nl"
        ),
        format="json",
    ).json()
    assert created["country"] == "NL"
    # Someone else had the wallet registered on chain first.
    send(
        contracts["IssuerRegistry"],
        "IssuerRegistry",
        "registerIssuer",
        wallet.address,
        keccak(text="x"),
        "Qm",
    )
    officer.post(f"/api/issuers/{created['id']}/review/", {"decision": "approve"}, format="json")
    settle_outbox()
    company = officer.get(f"/api/issuers/{created['id']}/").json()
    assert (
        company["onchain"]["status"] == "failed" and "IssuerAlreadyRegistered" in company["onchain"]["error"]
    )

    send(contracts["IssuerRegistry"], "IssuerRegistry", "revokeIssuer", wallet.address)
    retried = officer.post(f"/api/issuers/{created['id']}/register/")
    assert retried.status_code == 202
    settle_outbox()
    assert Company.objects.get(pk=created["id"]).registered
    assert officer.post(f"/api/issuers/{created['id']}/register/").status_code == 200  # idempotent


def test_rebuild_from_chain_restores_companies_and_campaigns(contracts, issuer, officer):
    campaign = _active_campaign(issuer, officer)
    Indexer().run()
    before = (
        campaign.status,
        campaign.contract_address,
        Company.objects.get(pk=campaign.issuer_id).registration_status,
    )
    import io

    call_command("rebuild_from_chain", "--no-progress", stdout=io.StringIO())
    campaign.refresh_from_db()
    after = (
        campaign.status,
        campaign.contract_address,
        Company.objects.get(pk=campaign.issuer_id).registration_status,
    )
    assert after == before
