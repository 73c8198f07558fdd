"""The investment suite's fixtures (a KYC provider, KYC'd investors with wallets, open campaigns),
shared with the reorg tests, and `world`: a platform with something in every domain."""

from __future__ import annotations

import pytest

from blockchain.chain.bindings import bound
from blockchain.indexing.indexer import Indexer
from campaigns.models import CampaignStatus
from credentials import services as credential_services
from credentials.models import Credential
from loans import services as loan_services
from tests.investments.conftest import kyc_institution, make_investor, officer, open_campaign  # noqa: F401
from tests.support.chain import send
from tests.support.issuance import end_campaign
from tests.support.loans import make_loan
from tests.support.outbox import settle_outbox
from tests.support.users import jwt_client

SUBJECT = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"


@pytest.fixture
def world(open_campaign, make_investor, kyc_institution, make_user, chain, settings):  # noqa: F811
    """A successful campaign with certificates (one moved by its holder on chain), credentials issued
    singly and in a batch, one revoked by the platform and one directly on chain, a draft loan and an
    anchored, repaid one;
    and API clients of every role that sees them."""
    settings.CERTIFICATE_MINT_GAS = settings.CHAIN_BLOCK_GAS_LIMIT  # one certificate per mintBatch
    campaign = open_campaign(goal="300", hard_cap="1000")
    _alice, alice_client, alice_wallet = make_investor()
    _bob, bob_client, bob_wallet = make_investor()
    for client, amount in ((alice_client, "200"), (bob_client, "150.50")):
        assert (
            client.post(
                f"/api/campaigns/{campaign.pk}/investments/", {"amount": amount}, format="json"
            ).status_code
            == 202
        )
    settle_outbox()
    end_campaign(campaign)
    assert campaign.status == CampaignStatus.SUCCESSFUL

    # Alice gives her certificate to Bob on chain.
    token = bound("ShareCertificate")
    alice_token = alice_client.get("/api/certificates/").json()["results"][0]["token_id"]
    chain.rpc("anvil_impersonateAccount", alice_wallet.address)
    chain.rpc("anvil_setBalance", alice_wallet.address, hex(10**18))
    send(
        token.address,
        "ShareCertificate",
        "transferFrom",
        alice_wallet.address,
        bob_wallet.address,
        alice_token,
        sender=alice_wallet.address,
    )

    # Credentials: single, batch, revoked by the platform, revoked directly on chain.
    single = credential_services.issue_credential(
        actor=None,
        institution=kyc_institution,
        subject_wallet=SUBJECT,
        credential_type="diploma",
        document={"n": 1},
    )
    direct = credential_services.issue_credential(
        actor=None,
        institution=kyc_institution,
        subject_wallet=SUBJECT,
        credential_type="diploma",
        document={"n": 2},
    )
    credential_services.issue_batch(
        actor=None,
        institution=kyc_institution,
        items=[
            {"subject_wallet": SUBJECT, "credential_type": "diploma", "document": {"n": 10 + i}}
            for i in range(3)
        ],
    )
    settle_outbox()
    credential_services.revoke_credential(
        actor=None, credential=Credential.objects.get(pk=single.pk), reason="superseded"
    )
    settle_outbox()
    direct.refresh_from_db()
    send(
        bound("CredentialVault").address,
        "CredentialVault",
        "revokeCredential",
        direct.onchain_id,
        b"\x01" * 32,
    )
    make_loan()  # a draft
    repaid = loan_services.approve_loan(loan=make_loan(), actor=None)
    settle_outbox()
    loan_services.request_repayment(loan=repaid, actor=None)
    settle_outbox()
    Indexer().run()
    direct.refresh_from_db()
    assert direct.status == "revoked" and direct.revocation_requested_at is None  # observed, not requested

    operator, _ = make_user("operator")
    compliance, _ = make_user("compliance")
    clients = {
        "alice": alice_client,
        "bob": bob_client,
        "operator": jwt_client(operator),
        "compliance": jwt_client(compliance),
        "issuer": jwt_client(campaign.issuer.owner),
    }
    return {
        "campaign": campaign,
        "clients": clients,
        "direct": direct,
        "single": single,
        "institution": kyc_institution,
    }
