"""An open campaign on anvil and KYC-verified investors, through the real services and outbox."""

from __future__ import annotations

import pytest
from django.utils import timezone
from eth_account import Account
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import services as account_services
from campaigns import services as campaign_services
from campaigns.models import Campaign
from credentials import services as credential_services
from tests.support.issuance import open_campaign as open_campaign_of
from tests.support.outbox import settle_outbox
from tests.support.wallets import VERIFY, challenge_for, sign


def client_of(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.fixture
def kyc_institution(contracts):
    institution = credential_services.upsert_institution(
        address=Account.create().address, name="KYC Provider", kyc_provider=True
    )
    settle_outbox()
    institution.refresh_from_db()
    return institution


@pytest.fixture
def officer(make_user):
    user, _ = make_user("compliance")
    return user


@pytest.fixture
def make_investor(kyc_institution):
    """An investor with a bound wallet, a valid KYC credential and a profile: (user, client, wallet)."""
    counter = iter(range(1, 1000))

    def make(
        *, kyc: bool = True, annual_income="200000", net_worth="200000", country="DE", settle: bool = True
    ):
        user = account_services.create_user(
            username=f"inv{next(counter)}-{timezone.now().timestamp()}", role="investor", password=None
        )
        client = client_of(user)
        wallet = Account.create()
        message = challenge_for(client, wallet)
        assert (
            client.post(
                VERIFY, {"message": message, "signature": sign(wallet, message)}, format="json"
            ).status_code
            == 200
        )
        campaign_services.update_profile(
            user=user, annual_income=annual_income, net_worth=net_worth, country=country
        )
        if kyc:
            credential_services.issue_credential(
                actor=None,
                institution=kyc_institution,
                subject_wallet=wallet.address,
                credential_type="kyc",
                document={"kyc": "passed", "wallet": wallet.address},
            )
            if settle:
                settle_outbox()
        user.refresh_from_db()
        return user, client, wallet

    return make


@pytest.fixture
def open_campaign(contracts, officer, make_user):
    """An active campaign (its contract deployed on anvil) open for investments now."""

    def make(*, goal="1000", hard_cap="10000", min_investment="10", **kwargs) -> Campaign:
        owner, _ = make_user("issuer")
        return open_campaign_of(
            owner=owner,
            officer=officer,
            goal=goal,
            hard_cap=hard_cap,
            min_investment=min_investment,
            **kwargs,
        )

    return make
