"""A successful campaign mints one ERC-721 certificate per confirmed investment; transfers made by
holders on chain show up in the cached owner."""

from __future__ import annotations

import pytest

from blockchain.chain.bindings import bound
from blockchain.chain.client import get_web3
from blockchain.indexing.indexer import Indexer
from blockchain.indexing.reconcile import run_reconcile
from blockchain.models import ChainTransaction
from campaigns.models import CampaignStatus, ShareCertificate
from tests.investments.conftest import client_of
from tests.support.issuance import end_campaign
from tests.support.outbox import settle_outbox

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


def test_two_investors_own_their_certificates_and_a_transfer_shows(
    open_campaign, make_investor, chain, settings
):
    settings.CERTIFICATE_MINT_GAS = settings.CHAIN_BLOCK_GAS_LIMIT  # one certificate per transaction
    campaign = open_campaign(goal="300", hard_cap="1000")
    _alice, alice_client, alice_wallet = make_investor()
    _bob, bob_client, bob_wallet = make_investor()
    for client, amount in ((alice_client, 200), (bob_client, "150.50")):
        assert (
            client.post(
                f"/api/campaigns/{campaign.pk}/investments/", {"amount": str(amount)}, format="json"
            ).status_code
            == 202
        )
    settle_outbox()
    end_campaign(campaign)
    assert campaign.status == CampaignStatus.SUCCESSFUL
    assert (
        ChainTransaction.objects.filter(kind="campaigns.mint_certificates", status="confirmed").count() == 2
    )

    token = bound("ShareCertificate")
    mine = alice_client.get("/api/certificates/").json()["results"]
    assert len(mine) == 1 and mine[0]["status"] == "minted" and mine[0]["shares"] == 200
    assert mine[0]["owner"] == alice_wallet.address and mine[0]["chain"]["status"] == "confirmed"
    assert token.call("ownerOf", mine[0]["token_id"]) == alice_wallet.address
    bobs = bob_client.get("/api/certificates/").json()["results"]
    assert bobs[0]["shares"] == 150 and token.call("ownerOf", bobs[0]["token_id"]) == bob_wallet.address
    campaign_address, shares, _ref = token.call("certificateOf", bobs[0]["token_id"])
    assert (campaign_address, shares) == (campaign.contract_address, 150)

    # Alice gives her certificate to Bob on chain, signing herself.
    w3 = get_web3()
    chain.rpc("anvil_setBalance", alice_wallet.address, hex(10**18))
    tx = {
        "to": token.address,
        "data": "0x"
        + token.encode("transferFrom", alice_wallet.address, bob_wallet.address, mine[0]["token_id"]).hex(),
        "gas": 200_000,
        "nonce": 0,
        "chainId": w3.eth.chain_id,
        "maxFeePerGas": 50 * 10**9,
        "maxPriorityFeePerGas": 10**9,
    }
    tx_hash = w3.eth.send_raw_transaction(alice_wallet.sign_transaction(tx).raw_transaction)
    assert w3.eth.wait_for_transaction_receipt(tx_hash)["status"] == 1
    Indexer().run()
    assert ShareCertificate.objects.get(token_id=mine[0]["token_id"]).owner == bob_wallet.address
    assert alice_client.get("/api/certificates/").json()["results"] == []
    assert {c["token_id"] for c in bob_client.get("/api/certificates/").json()["results"]} == {
        mine[0]["token_id"],
        bobs[0]["token_id"],
    }
    assert run_reconcile().drift_count == 0


def test_certificates_are_batched_by_the_block_gas_limit(open_campaign, make_investor, officer, settings):
    settings.CERTIFICATE_MINT_GAS = (
        settings.CHAIN_BLOCK_GAS_LIMIT // 3
    )  # two per transaction (80 % of a block)
    campaign = open_campaign(goal="30", hard_cap="1000")
    for _ in range(5):
        _user, client, _wallet = make_investor(settle=False)
        settle_outbox()
        client.post(f"/api/campaigns/{campaign.pk}/investments/", {"amount": "10"}, format="json")
    settle_outbox()
    end_campaign(campaign)
    mints = ChainTransaction.objects.filter(kind="campaigns.mint_certificates")
    assert mints.count() == 3 and set(mints.values_list("status", flat=True)) == {"confirmed"}
    assert ShareCertificate.objects.filter(campaign=campaign, status="minted").count() == 5
    assert bound("ShareCertificate").call("totalMinted") == 5
    assert client_of(officer).get("/api/certificates/").json()["count"] == 5


def test_a_wallet_reads_the_certificate_through_token_uri(open_campaign, make_investor, api_client, settings):
    """What a wallet does: tokenURI on chain, then an anonymous GET of that document."""
    from urllib.parse import urlparse

    campaign = open_campaign(goal="300", hard_cap="1000")
    _alice, alice_client, alice_wallet = make_investor()
    response = alice_client.post(
        f"/api/campaigns/{campaign.pk}/investments/", {"amount": "300"}, format="json"
    )
    assert response.status_code == 202
    settle_outbox()
    end_campaign(campaign)
    certificate = ShareCertificate.objects.get(campaign=campaign)
    uri = bound("ShareCertificate").call("tokenURI", certificate.token_id)
    assert uri == f"{settings.CERTIFICATE_METADATA_BASE_URL}{certificate.token_id}/metadata.json"

    document = api_client.get(urlparse(uri).path)
    assert document.status_code == 200 and "public" in document["Cache-Control"]
    body = document.json()
    issuer = campaign.issuer.legal_name
    assert body["name"].startswith(f"{issuer}: 300 shares")
    assert {a["trait_type"]: a["value"] for a in body["attributes"]} == {
        "Issuer": issuer,
        "Issuer country": campaign.issuer.country,
        "Campaign": campaign.title,
        "Campaign contract": campaign.contract_address,
        "Shares": 300,
    }
    assert alice_wallet.address.lower()[2:] not in document.content.decode().lower()  # no holder identity
    assert api_client.get(f"/api/certificates/{certificate.token_id + 100}/metadata.json").status_code == 404
