"""After a real reorg on anvil, what the platform says equals what the contracts say.

Each test drives the platform through its API and services, settles the outbox in-process, indexes,
orphans one chain fact (`anvil_rollback`: the rolled-back transactions are dropped, not re-mined),
mines empty blocks past the old height, indexes again, and compares the API (or the rows, where the
API has no field) with the contracts' own views.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from eth_account import Account
from eth_utils import keccak

from blockchain.chain.abi import bytes32_from_hex
from blockchain.chain.amounts import from_base_units, to_base_units
from blockchain.chain.bindings import bound
from blockchain.chain.client import get_web3
from blockchain.indexing.indexer import Indexer
from campaigns.models import Campaign, ShareCertificate
from credentials.models import Credential, CredentialStatus
from tests.investments.conftest import client_of
from tests.support.chain import send
from tests.support.issuance import end_campaign
from tests.support.outbox import settle_outbox

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


# --- helpers ---------------------------------------------------------------------------------------


def head() -> int:
    return get_web3().eth.block_number


def block_of(tx_hash: str) -> int:
    return get_web3().eth.get_transaction_receipt(tx_hash)["blockNumber"]


def orphan_from(chain, block: int) -> None:
    """Roll the chain back to just before `block` (its transactions are dropped), then mine empty
    blocks until the new chain is longer than the old one."""
    old_head = head()
    chain.rpc("anvil_rollback", old_head - block + 1)
    assert head() == block - 1
    chain.mine(old_head - head() + 1)
    assert head() == old_head + 1


def invest(client, campaign: Campaign, amount: str) -> int:
    response = client.post(f"/api/campaigns/{campaign.pk}/investments/", {"amount": amount}, format="json")
    assert response.status_code == 202, response.json()
    return response.json()["id"]


def transfer_as_holder(wallet, token, to: str, token_id: int) -> str:
    """ERC-721 transferFrom signed by the holder's own key (not the platform's signer)."""
    w3 = get_web3()
    w3.provider.make_request("anvil_setBalance", [wallet.address, hex(10**18)])
    tx = {
        "to": token.address,
        "data": "0x" + token.encode("transferFrom", wallet.address, to, token_id).hex(),
        "gas": 200_000,
        "nonce": w3.eth.get_transaction_count(wallet.address),
        "chainId": w3.eth.chain_id,
        "maxFeePerGas": 50 * 10**9,
        "maxPriorityFeePerGas": 10**9,
    }
    tx_hash = w3.eth.send_raw_transaction(wallet.sign_transaction(tx).raw_transaction)
    assert w3.eth.wait_for_transaction_receipt(tx_hash)["status"] == 1
    return tx_hash.to_0x_hex()


# --- 1. an orphaned InvestmentRecorded -------------------------------------------------------------


def test_rolled_back_investment_is_not_confirmed_and_raised_equals_the_contract(
    open_campaign, make_investor, officer, chain
):
    campaign = open_campaign(goal="1000", hard_cap="10000")
    _alice, alice, _ = make_investor()
    _bob, bob, _ = make_investor()
    kept = invest(alice, campaign, "100")
    settle_outbox()
    lost = invest(bob, campaign, "250")
    settle_outbox()
    Indexer().run()
    api = client_of(officer)
    assert api.get(f"/api/campaigns/{campaign.pk}/").json()["raised"] == "350.000000"
    lost_tx = api.get(f"/api/investments/{lost}/").json()["recorded_tx_hash"]

    orphan_from(chain, block_of(lost_tx))
    Indexer().run()

    contract = bound("Campaign", address=campaign.contract_address)
    assert contract.call("raised") == to_base_units("100")
    assert api.get(f"/api/investments/{kept}/").json()["status"] == "confirmed"
    assert api.get(f"/api/investments/{lost}/").json()["status"] != "confirmed"
    api_raised = Decimal(api.get(f"/api/campaigns/{campaign.pk}/").json()["raised"])
    chain_raised = from_base_units(contract.call("raised"))
    assert api_raised == chain_raised, f"API raised {api_raised} but Campaign.raised() is {chain_raised}"


# --- 2. an orphaned CampaignFinalized of a failed campaign -----------------------------------------


def test_rolled_back_failure_reopens_the_campaign_and_unrefunds_its_investments(
    open_campaign, make_investor, officer, chain
):
    campaign = open_campaign(goal="1000", hard_cap="10000")
    _user, client, wallet = make_investor()
    investment_id = invest(client, campaign, "100")
    settle_outbox()
    end_campaign(campaign)
    Indexer().run()
    api = client_of(officer)
    assert api.get(f"/api/campaigns/{campaign.pk}/").json()["status"] == "failed"
    assert api.get(f"/api/investments/{investment_id}/").json()["status"] == "refunded"

    orphan_from(chain, block_of(campaign.finalized_tx_hash))
    Indexer().run()

    contract = bound("Campaign", address=campaign.contract_address)
    assert (contract.call("finalized"), contract.call("successful")) == (False, False)
    investment = api.get(f"/api/investments/{investment_id}/").json()
    assert contract.call("investmentOf", bytes32_from_hex(investment["investment_ref"])) == (
        wallet.address,
        to_base_units("100"),
        False,
    )
    campaign_status = api.get(f"/api/campaigns/{campaign.pk}/").json()["status"]
    assert campaign_status == "active", f"finalized() is False on chain but the API says {campaign_status}"
    assert investment["status"] == "confirmed", (
        f"the investment is recorded and the campaign not finalized on chain, "
        f"but the API says {investment['status']}"
    )


# --- 3. an orphaned holder transfer ----------------------------------------------------------------


def test_rolled_back_holder_transfer_gives_the_certificate_back_to_the_holder(
    open_campaign, make_investor, officer, chain
):
    campaign = open_campaign(goal="100", hard_cap="1000")
    _user, client, wallet = make_investor()
    invest(client, campaign, "100")
    settle_outbox()
    end_campaign(campaign)
    assert campaign.status == "successful"
    token = bound("ShareCertificate")
    api = client_of(officer)
    (certificate,) = api.get("/api/certificates/").json()["results"]
    token_id = certificate["token_id"]
    assert certificate["owner"] == token.call("ownerOf", token_id) == wallet.address

    stranger = Account.create().address
    tx_hash = transfer_as_holder(wallet, token, stranger, token_id)
    Indexer().run()
    assert api.get("/api/certificates/").json()["results"][0]["owner"] == stranger

    orphan_from(chain, block_of(tx_hash))
    Indexer().run()

    chain_owner = token.call("ownerOf", token_id)
    assert chain_owner == wallet.address
    (certificate,) = api.get("/api/certificates/").json()["results"]
    assert certificate["token_id"] == token_id
    assert certificate["owner"] == chain_owner, (
        f"API owner {certificate['owner']} but ownerOf({token_id}) is {chain_owner}"
    )


# --- 4. an orphaned mint and transfer; the outbox re-mines the mint lower --------------------------


def test_remined_mint_after_rolling_back_mint_and_transfer_matches_owners_and_count(
    open_campaign, make_investor, officer, chain, settings
):
    settings.CERTIFICATE_MINT_GAS = settings.CHAIN_BLOCK_GAS_LIMIT  # one certificate per mintBatch
    campaign = open_campaign(goal="100", hard_cap="1000")
    _alice, alice, alice_wallet = make_investor()
    _bob, bob, _bob_wallet = make_investor()
    invest(alice, campaign, "60")
    invest(bob, campaign, "40")
    settle_outbox()
    end_campaign(campaign)
    assert campaign.status == "successful"
    token = bound("ShareCertificate")
    api = client_of(officer)
    certificates = api.get("/api/certificates/").json()["results"]
    assert len(certificates) == 2 and {c["status"] for c in certificates} == {"minted"}
    alices = next(c for c in certificates if c["owner"] == alice_wallet.address)
    first_mint = min(block_of(c["minted_tx_hash"]) for c in certificates)
    Indexer().run()

    # Room above the mints, so the re-mined mints land below the orphaned transfer however the
    # confirmer groups its re-broadcasts into blocks.
    chain.mine(3)
    transfer_block = block_of(
        transfer_as_holder(alice_wallet, token, Account.create().address, alices["token_id"])
    )
    Indexer().run()

    old_head = head()
    chain.rpc("anvil_rollback", old_head - first_mint + 1)  # both mints and the transfer
    assert token.call("totalMinted") == 0
    settle_outbox()  # the confirmer sees the receipts gone and broadcasts the same mints again
    remined = [block_of(c.minted_tx_hash) for c in ShareCertificate.objects.filter(campaign=campaign)]
    assert max(remined) < transfer_block  # the mints now sit below the orphaned transfer
    chain.mine(old_head - head() + 1)
    Indexer().run()

    total_minted = token.call("totalMinted")
    assert total_minted == 2
    rows = {c.token_id: c for c in ShareCertificate.objects.filter(campaign=campaign)}
    chain_view = {
        c.certificate_ref: (
            token.call("tokenIdOfRef", bytes32_from_hex(c.certificate_ref)),
            token.call("ownerOf", token.call("tokenIdOfRef", bytes32_from_hex(c.certificate_ref))),
        )
        for c in rows.values()
    }
    api_view = {
        rows[c["token_id"]].certificate_ref: (c["token_id"], c["owner"])
        for c in api.get("/api/certificates/").json()["results"]
    }
    assert api_view == chain_view, f"API (token id, owner) {api_view} but the chain says {chain_view}"
    minted = ShareCertificate.objects.filter(campaign=campaign, status="minted").count()
    assert minted == total_minted, f"{minted} certificates minted in the API, totalMinted() is {total_minted}"


# --- 5. an orphaned direct revocation --------------------------------------------------------------


def test_rolled_back_direct_revocation_shows_the_credential_valid_again(
    make_investor, kyc_institution, api_client, chain
):
    _user, _client, wallet = make_investor()
    credential = Credential.objects.get(subject_wallet=wallet.address, credential_type="kyc")
    assert credential.status == CredentialStatus.ISSUED and credential.onchain_id
    vault = bound("CredentialVault")
    tx_hash = send(
        vault.address, "CredentialVault", "revokeCredential", credential.onchain_id, keccak(text="fraud")
    )
    Indexer().run()
    status = api_client.get(f"/api/blockchain/status/{credential.share_id}/").json()  # the public path
    assert (status["revoked"], status["valid"]) == (True, False)

    orphan_from(chain, block_of(tx_hash))
    Indexer().run()

    exists, revoked, expired, *_rest = vault.call("credentialStatus", credential.onchain_id)
    assert (exists, revoked, expired) == (True, False, False)
    status = api_client.get(f"/api/blockchain/status/{credential.share_id}/").json()  # the public path
    assert (status["exists"], status["revoked"], status["valid"]) == (exists, revoked, True), (
        f"credentialStatus says exists={exists} revoked={revoked} expired={expired}, the API says {status}"
    )


# --- 7. a rollback over a campaign's whole life ---------------------------------------------------


def test_rolling_back_a_whole_campaign_indexes_cleanly_and_drops_its_contract_address(
    open_campaign, make_investor, officer, chain, make_user
):
    campaign = open_campaign(goal="1000", hard_cap="10000")
    created_block = block_of(campaign.created_tx_hash)
    for amount in ("100", "200"):
        _user, client, _wallet = make_investor()
        invest(client, campaign, amount)
        settle_outbox()
    end_campaign(campaign)
    assert campaign.status == "failed"
    Indexer().run()

    orphan_from(chain, created_block)
    raised = None
    try:
        Indexer().run()
    except Exception as exc:  # the run must not raise: report what it raised as the failure
        raised = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    assert raised is None, f"Indexer().run() raised after the rollback: {raised}"

    operator, _ = make_user("operator")
    sync = client_of(operator).get("/api/blockchain/sync/").json()
    assert sync["indexer_error"] == ""
    factory = bound("CampaignFactory")
    chain_address = factory.call("campaignOf", bytes32_from_hex(campaign.campaign_ref))
    assert chain_address == ZERO_ADDRESS
    assert get_web3().eth.get_code(campaign.contract_address) == b""
    api_address = client_of(officer).get(f"/api/campaigns/{campaign.pk}/").json()["contract_address"]
    assert (api_address or ZERO_ADDRESS) == chain_address, (
        f"the API shows contract {api_address}, the factory has {chain_address} for this campaign"
    )
