"""`409 kyc_none` says what to do next: which institutions are KYC providers (public name and id
only) and how to get a credential from one; following it opens the gate."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from eth_account import Account

from accounts.models import User
from campaigns import services as campaign_services
from core.api import StateConflict
from credentials import services
from credentials.models import Credential, Institution, SyncStatus
from credentials.selectors import require_valid_kyc
from tests.support.issuance import open_campaign as open_campaign_of
from tests.support.outbox import settle_outbox
from tests.support.wallets import bind_wallet

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

PROVIDER_KEYS = {"id", "address", "name"}


@pytest.fixture
def open_campaign(contracts, make_user):
    officer, _ = make_user("compliance")
    owner, _ = make_user("issuer")
    return open_campaign_of(owner=owner, officer=officer)


def other_institutions() -> dict[str, Institution]:
    """Institutions an investor must not be sent to: not a provider, inactive, not yet on chain."""

    def make(name: str, **fields) -> Institution:
        return Institution.objects.create(address=Account.create().address, name=name, **fields)

    return {
        "university": make("A University", kyc_provider=False, sync_status=SyncStatus.SYNCED),
        "retired": make("A Retired KYC Bank", kyc_provider=True, active=False, sync_status=SyncStatus.SYNCED),
        "unsynced": make("A New KYC Bank", kyc_provider=True, sync_status=SyncStatus.PENDING),
    }


def test_kyc_none_lists_the_kyc_providers_and_the_way_to_a_credential(
    institution, open_campaign, auth_client, make_user
):
    provider, provider_client = institution
    other_institutions()
    investor = auth_client("investor")
    wallet = bind_wallet(investor)
    campaign_services.update_profile(
        user=investor.user, annual_income="200000", net_worth="200000", country="DE"
    )

    refused = investor.post(
        f"/api/campaigns/{open_campaign.pk}/investments/", {"amount": "100"}, format="json"
    )
    assert refused.status_code == 409
    body = refused.json()
    assert body["code"] == "kyc_none" and body["kyc_status"] == "none"
    step = body["next_step"]
    assert step["action"] == "request_kyc_credential" and step["credential_type"] == "kyc"
    assert step["kyc_providers"] == [
        {"id": provider.pk, "address": provider.address, "name": "Trust Bank KYC"}
    ]
    assert all(set(p) == PROVIDER_KEYS for p in step["kyc_providers"])  # public name and id, nothing else
    assert step["wallet_address"] == wallet.address and wallet.address in step["detail"]
    assert step["kyc_status_endpoint"] == "GET /api/auth/me/"
    assert step["kyc_providers_endpoint"] == "GET /api/institutions/"

    # Following it: the provider issues a kyc credential to the bound wallet, and the gate opens.
    issued = provider_client.post(
        "/api/credentials/issue/",
        {
            "institution": provider.address,
            "subject_wallet": wallet.address,
            "credential_type": "kyc",
            "document": {"kyc": "passed", "wallet": wallet.address},
        },
        format="json",
    )
    assert issued.status_code == 202
    settle_outbox()
    assert investor.get("/api/auth/me/").json()["kyc"]["status"] == "valid"
    invested = investor.post(
        f"/api/campaigns/{open_campaign.pk}/investments/", {"amount": "100"}, format="json"
    )
    assert invested.status_code == 202, invested.json()


def test_with_no_kyc_provider_the_guidance_says_so(contracts, make_user):
    other_institutions()
    user, _ = make_user("investor")
    User.objects.filter(pk=user.pk).update(wallet_address=Account.create().address, wallet_verified=True)
    user.refresh_from_db()
    with pytest.raises(StateConflict) as refused:
        require_valid_kyc(user)
    step = refused.value.extra["next_step"]
    assert refused.value.code == "kyc_none"
    assert step["kyc_providers"] == [] and "No KYC provider" in step["detail"]


def test_an_expired_kyc_gets_the_same_guidance(institution, auth_client):
    provider, _ = institution
    investor = auth_client("investor")
    wallet = bind_wallet(investor)
    credential = services.issue_credential(
        actor=None,
        institution=provider,
        subject_wallet=wallet.address,
        credential_type="kyc",
        document={"kyc": "passed", "wallet": wallet.address},
    )
    settle_outbox()
    user = User.objects.get(pk=investor.user.pk)  # with the wallet the API bound
    assert require_valid_kyc(user).pk == credential.pk
    Credential.objects.filter(pk=credential.pk).update(expires_at=datetime(2020, 1, 1, tzinfo=UTC))
    with pytest.raises(StateConflict) as refused:
        require_valid_kyc(user)
    assert refused.value.code == "kyc_expired"
    step = refused.value.extra["next_step"]
    assert [p["id"] for p in step["kyc_providers"]] == [provider.pk] and wallet.address in step["detail"]


def test_a_revoked_kyc_gets_no_shopping_list(institution, auth_client):
    """A revocation is the provider's decision: the refusal says so, and does not send the investor
    to the next provider."""
    provider, _ = institution
    investor = auth_client("investor")
    wallet = bind_wallet(investor)
    credential = services.issue_credential(
        actor=None,
        institution=provider,
        subject_wallet=wallet.address,
        credential_type="kyc",
        document={"kyc": "passed", "wallet": wallet.address},
    )
    settle_outbox()
    services.revoke_credential(actor=None, credential=credential, reason="documents withdrawn")
    settle_outbox()
    with pytest.raises(StateConflict) as refused:
        require_valid_kyc(User.objects.get(pk=investor.user.pk))
    assert refused.value.code == "kyc_revoked" and "next_step" not in refused.value.extra
