"""Investing on anvil: the gates (wallet, KYC, cap, limit), recording on chain, cancellation, refunds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from blockchain.chain.amounts import from_base_units
from blockchain.chain.bindings import bound
from blockchain.indexing.indexer import Indexer
from blockchain.indexing.reconcile import run_reconcile
from blockchain.models import ChainTransaction
from campaigns.models import Campaign, Investment, InvestmentStatus
from credentials import services as credential_services
from credentials.models import Credential
from tests.investments.conftest import client_of
from tests.support.issuance import end_campaign
from tests.support.outbox import settle_outbox

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


def invest(client, campaign, amount):
    return client.post(f"/api/campaigns/{campaign.pk}/investments/", {"amount": str(amount)}, format="json")


def test_invest_record_on_chain_and_see_the_campaign_total(open_campaign, make_investor):
    campaign = open_campaign()
    _user, client, wallet = make_investor()
    response = invest(client, campaign, "250.50")
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["status"] == "recording" and "aml" not in body and body["chain"]["status"] == "queued"
    campaign.refresh_from_db()
    assert campaign.pending_amount == Decimal("250.50")

    settle_outbox()
    mine = client.get(f"/api/investments/{body['id']}/").json()
    assert mine["status"] == "confirmed" and mine["chain"]["status"] == "confirmed"
    campaign.refresh_from_db()
    assert (
        campaign.raised == Decimal("250.50") and campaign.pending_amount == 0 and campaign.investor_count == 1
    )
    clone = bound("Campaign", address=campaign.contract_address)
    assert from_base_units(clone.call("raised")) == Decimal("250.50")
    assert from_base_units(clone.call("investedBy", wallet.address)) == Decimal("250.50")
    profile = client.get("/api/auth/me/profile/").json()
    assert profile["invested_12m"] == "250.500000" and profile["limit_12m"] == "20000.00"
    assert profile["accredited"] is False
    Indexer().run()
    assert run_reconcile().drift_count == 0


def test_the_gates(open_campaign, make_investor, auth_client):
    campaign = open_campaign(hard_cap="1000", min_investment="100")
    no_wallet = auth_client("investor")
    refused = invest(no_wallet, campaign, 100)
    assert refused.status_code == 409 and refused.json()["code"] == "wallet_not_bound"
    _user, no_kyc, _ = make_investor(kyc=False)
    assert invest(no_kyc, campaign, 100).json()["code"] == "kyc_none"
    _user, client, _ = make_investor()
    below = invest(client, campaign, "99.99")
    assert below.status_code == 400 and "amount" in below.json()["errors"]
    assert invest(client, campaign, "0.001").status_code == 400  # below a base unit (2 decimals)
    Campaign.objects.filter(pk=campaign.pk).update(share_price=150)
    no_share = invest(client, campaign, "149.99")
    assert no_share.status_code == 400 and no_share.json()["code"] == "below_one_share"
    Campaign.objects.filter(pk=campaign.pk).update(share_price=1)
    assert invest(client, campaign, 700).status_code == 202
    over = invest(client, campaign, 301)
    assert (
        over.status_code == 409
        and over.json()["code"] == "hard_cap_exceeded"
        and over.json()["available"] == "300.000000"
    )
    assert (
        auth_client("issuer")
        .post(f"/api/campaigns/{campaign.pk}/investments/", {"amount": "1"}, format="json")
        .status_code
        == 403
    )


def test_investor_limit_and_accreditation(open_campaign, make_investor, kyc_institution):
    campaign = open_campaign(hard_cap="1000000")
    _user, client, wallet = make_investor(annual_income="30000", net_worth="10000")  # limit 2,500
    assert invest(client, campaign, 2000).status_code == 202
    over = invest(client, campaign, "500.01")
    assert over.status_code == 409 and over.json()["code"] == "investment_limit_exceeded"
    assert over.json()["limit_12m"] == "2500.00" and over.json()["invested_12m"] == "2000.000000"
    # Accreditation comes from a credential, never from the profile.
    assert (
        client.patch("/api/auth/me/profile/", {"accredited": True}, format="json").json()["accredited"]
        is False
    )
    credential_services.issue_credential(
        actor=None,
        institution=kyc_institution,
        subject_wallet=wallet.address,
        credential_type="accreditation",
        document={"accredited": True, "wallet": wallet.address},
    )
    settle_outbox()
    profile = client.get("/api/auth/me/profile/").json()
    assert profile["accredited"] is True and profile["limit_12m"] is None
    assert invest(client, campaign, 5000).status_code == 202


def test_revoked_kyc_blocks_further_investments_with_a_clear_409(open_campaign, make_investor):
    campaign = open_campaign()
    _user, client, wallet = make_investor()
    assert invest(client, campaign, 100).status_code == 202
    kyc = Credential.objects.get(subject_wallet=wallet.address, credential_type="kyc")
    credential_services.revoke_credential(actor=None, credential=kyc, reason="sanctions screening hit")
    settle_outbox()
    refused = invest(client, campaign, 100)
    assert refused.status_code == 409 and refused.json()["code"] == "kyc_revoked"
    assert "revoked" in refused.json()["message"]


def test_cancel_a_confirmed_investment_on_chain_until_48h_before_the_end(open_campaign, make_investor):
    campaign = open_campaign()
    _user, client, _wallet = make_investor()
    first = invest(client, campaign, 300).json()
    second = invest(client, campaign, 200).json()
    settle_outbox()
    cancelled = client.post(f"/api/investments/{first['id']}/cancel/")
    assert cancelled.status_code == 202
    settle_outbox()
    assert Investment.objects.get(pk=first["id"]).status == InvestmentStatus.CANCELLED
    campaign.refresh_from_db()
    assert campaign.raised == 200
    assert from_base_units(bound("Campaign", address=campaign.contract_address).call("raised")) == 200
    Campaign.objects.filter(pk=campaign.pk).update(
        starts_at=timezone.now() - timedelta(days=22), ends_at=timezone.now() + timedelta(hours=47)
    )
    late = client.post(f"/api/investments/{second['id']}/cancel/")
    assert late.status_code == 409 and late.json()["code"] == "cancellation_closed"
    _other_user, other, _ = make_investor()
    assert other.post(f"/api/investments/{second['id']}/cancel/").status_code == 404


def test_a_failed_campaign_refunds_its_investments(open_campaign, make_investor):
    campaign = open_campaign(goal="5000")
    _user, client, _ = make_investor()
    investment = invest(client, campaign, 100).json()
    settle_outbox()
    end_campaign(campaign)
    assert campaign.status == "failed"
    assert client.get(f"/api/investments/{investment['id']}/").json()["status"] == "refunded"


def test_recording_that_fails_on_chain_fails_the_investment_and_frees_the_cap(
    open_campaign, make_investor, chain
):
    # A deadline 30 days after the chain's own time (not the wall clock's), passed below.
    chain_now = datetime.fromtimestamp(
        int(chain.rpc("eth_getBlockByNumber", "latest", False)["timestamp"], 16), tz=UTC
    )
    campaign = open_campaign(goal="500", hard_cap="500", ends_at=chain_now + timedelta(days=30))
    _user, client, _ = make_investor()
    investment = invest(client, campaign, 500).json()
    chain.rpc("evm_increaseTime", 31 * 24 * 3600)  # past the contract's deadline: recordInvestment reverts
    chain.mine(1)
    settle_outbox()
    failed = Investment.objects.get(pk=investment["id"])
    assert failed.status == InvestmentStatus.FAILED and "DeadlinePassed" in failed.last_chain_error
    assert ChainTransaction.objects.get(investment__pk=failed.pk).error_code == "DeadlinePassed"
    campaign.refresh_from_db()
    assert campaign.pending_amount == 0


@pytest.mark.django_db(transaction=True)
def test_50_concurrent_investments_never_pass_the_hard_cap(open_campaign, make_investor):
    import threading

    from django.db import connection

    campaign = open_campaign(hard_cap="1000", min_investment="10")
    investors = [make_investor(settle=False) for _ in range(10)]
    settle_outbox()
    barrier = threading.Barrier(50)
    codes: list[int] = []
    lock = threading.Lock()

    def attempt(index: int) -> None:
        user, _client, _wallet = investors[index % 10]
        client = client_of(user)
        try:
            barrier.wait()
            response = invest(client, campaign, 70 + index)  # 50 requests of 70..119: about 14 fit
            with lock:
                codes.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(codes) <= {202, 409} and codes.count(202) >= 1 and len(codes) == 50
    settle_outbox()
    campaign.refresh_from_db()
    confirmed = Investment.objects.filter(campaign=campaign, status=InvestmentStatus.CONFIRMED)
    total = sum(i.amount for i in confirmed)
    assert confirmed.count() == codes.count(202)
    assert total <= campaign.hard_cap and campaign.raised == total
    assert from_base_units(bound("Campaign", address=campaign.contract_address).call("raised")) == total
    assert campaign.hard_cap - total < 70  # the 409s were real: not even the smallest request fitted
