"""Companies and campaigns for the issuance tests."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from django.utils import timezone
from eth_account import Account

from tests.support.outbox import settle_outbox
from tests.support.wallets import CHALLENGE, sign

CID = "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"
_numbers = itertools.count(1)


def new_wallet() -> str:
    return Account.create().address


def company_body(**overrides) -> dict:
    return {
        "legal_name": "Acme Robotics GmbH",
        "registration_number": f"HRB {next(_numbers):06d}",
        "country": "DE",
        "wallet_address": new_wallet(),
        "document_cid": CID,
        **overrides,
    }


def wallet_proof(client, address: str, signer) -> dict:
    """A `wallet_proof` for `address`: a challenge the client's user asks for, signed by `signer` (an
    eth_account account: the wallet itself, or the owner key of a contract wallet)."""
    response = client.post(CHALLENGE, {"address": address}, format="json")
    assert response.status_code == 201, response.content
    message = response.json()["message"]
    return {"message": message, "signature": sign(signer, message)}


def proven_company_body(client, *, wallet=None, **overrides) -> dict:
    """company_body for the client's user with a fresh wallet (or `wallet`, an account) and its proof."""
    wallet = wallet or Account.create()
    body = company_body(
        wallet_address=wallet.address, wallet_proof=wallet_proof(client, wallet.address, wallet)
    )
    return {**body, **overrides}


def campaign_body(
    issuer_id: int, *, starts_in: timedelta = timedelta(hours=1), days: int = 30, **overrides
) -> dict:
    starts = timezone.now() + starts_in
    return {
        "issuer": issuer_id,
        "title": "Series A",
        "description": "Robots for everyone",
        "goal": "100000.00",
        "hard_cap": "250000.00",
        "min_investment": "500.00",
        "share_price": "10.00",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(days=days)).isoformat(),
        **overrides,
    }


def registered_company(issuer_client, officer_client, **overrides) -> dict:
    """A company created by the issuer, approved by compliance and registered on chain."""
    created = issuer_client.post(
        "/api/issuers/", proven_company_body(issuer_client, **overrides), format="json"
    )
    assert created.status_code == 201, created.json()
    company_id = created.json()["id"]
    review = officer_client.post(f"/api/issuers/{company_id}/review/", {"decision": "approve"}, format="json")
    assert review.status_code == 202, review.json()
    settle_outbox()
    company = issuer_client.get(f"/api/issuers/{company_id}/").json()
    assert company["onchain"]["registered"] is True, company
    return company


def approved_company(*, owner, officer, legal_name: str = "Open Campaign AG"):
    """A company approved by `officer` and registered on chain, made through the services (for tests
    whose subject is not the KYB flow)."""
    from issuers import services as issuer_services
    from issuers.models import Company, KybStatus

    company = Company.objects.create(
        owner=owner,
        legal_name=legal_name,
        registration_number=f"CHE-{timezone.now().timestamp()}",
        country="CH",
        wallet_address=Account.create().address,
        document_cid=CID,
    )
    issuer_services.review_company(company=company, officer=officer, decision="approve")
    settle_outbox()
    company.refresh_from_db()
    assert company.kyb_status == KybStatus.APPROVED and company.registered
    return company


def draft_campaign(issuer_client, company_id: int, **kwargs) -> dict:
    response = issuer_client.post("/api/campaigns/", campaign_body(company_id, **kwargs), format="json")
    assert response.status_code == 201, response.json()
    return response.json()


# Campaign runs between fixed instants around any day the suite runs, so no test races the wall
# clock: an open campaign started before it and ends long after; a campaign not started yet starts
# after any such day.
OPEN_FROM = datetime(2026, 1, 1, tzinfo=UTC)
OPEN_UNTIL = datetime(2099, 1, 1, tzinfo=UTC)
NOT_STARTED = datetime(2098, 1, 1, tzinfo=UTC)


def open_campaign(
    *,
    owner,
    officer,
    title: str = "Open",
    goal="1000",
    hard_cap="10000",
    min_investment="10",
    ends_at: datetime = OPEN_UNTIL,
    settle=True,
):
    """An approved campaign of a new approved company of `owner`, open from OPEN_FROM to `ends_at`
    (its contract's deadline); with `settle`, its contract is deployed on anvil and it is active."""
    from campaigns import services as campaign_services
    from campaigns.models import CampaignStatus

    company = approved_company(owner=owner, officer=officer)
    campaign = campaign_services.create_campaign(
        actor=owner,
        issuer=company,
        title=title,
        goal=goal,
        hard_cap=hard_cap,
        min_investment=min_investment,
        share_price="1",
        starts_at=OPEN_FROM,
        ends_at=ends_at,
    )
    campaign_services.submit_campaign(campaign=campaign, actor=owner)
    campaign_services.review_campaign(campaign=campaign, officer=officer, decision="approve")
    if settle:
        settle_outbox()
        campaign.refresh_from_db()
        assert campaign.status == CampaignStatus.ACTIVE
    return campaign


# A fixed instant in the past: a campaign's run is moved to end here, so closing it never races the
# wall clock (its dates, and the `now` the beat sweep is given, are all this instant).
RUN_ENDED_AT = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)


def move_run_into_the_past(campaign) -> None:
    """A 40-day run that ended at RUN_ENDED_AT (longer than Regulation Crowdfunding's 21 days)."""
    from campaigns.models import Campaign

    Campaign.objects.filter(pk=campaign.pk).update(
        starts_at=RUN_ENDED_AT - timedelta(days=40), ends_at=RUN_ENDED_AT
    )


def opened_long_ago(campaign, *, days: int) -> None:
    """The campaign started and went live on chain `days` ago: its activation time is its
    CampaignCreated block's, so the stored event's block time moves with it (a projection of the
    campaign keeps it)."""
    from blockchain.models import ChainEvent
    from campaigns.models import Campaign

    then = timezone.now() - timedelta(days=days)
    ChainEvent.objects.filter(
        event_name="CampaignCreated", args__campaignAddress=campaign.contract_address
    ).update(block_timestamp=then)
    Campaign.objects.filter(pk=campaign.pk).update(starts_at=then, activated_at=then)


def end_campaign(campaign) -> None:
    """Its run is over and the beat sweep asks the chain to finalize it; the outbox settles and the
    row is refreshed (successful or failed, as the chain says)."""
    from campaigns.services import close_ended_campaigns

    move_run_into_the_past(campaign)
    close_ended_campaigns(now=RUN_ENDED_AT)
    settle_outbox()
    campaign.refresh_from_db()
