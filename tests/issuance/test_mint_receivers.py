"""Security issue #20, item 1: one receiver cannot keep a campaign's investors without certificates.

Platform mints do not call the receiver back, so an investor whose wallet has code without
onERC721Received (an EOA delegated by a real EIP-7702 type-4 transaction, or a contract) gets its
certificate with everyone else. And should a mintBatch still revert naming one of its receivers (here
through a test-only ShareCertificate that keeps `_safeMint`), the platform splits the batch: that
investment's certificate fails with the decoded error, the others are minted by a new mintBatch.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from eth_account import Account
from web3 import Web3

from blockchain.chain.abi import load_artifact
from blockchain.chain.bindings import bound
from blockchain.chain.client import get_web3
from blockchain.indexing.indexer import Indexer
from blockchain.models import ChainTransaction, TxStatus
from campaigns.models import CampaignStatus, CertificateStatus, ShareCertificate
from campaigns.onchain.intents import MINT_KIND
from contracts.deployment import DeployedContract, creation_data, record_suite
from tests.investments.conftest import kyc_institution, make_investor, officer, open_campaign  # noqa: F401
from tests.support.chain import BORROWER, OPERATOR, send
from tests.support.issuance import end_campaign
from tests.support.outbox import settle_outbox

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

# EIP-7702: the code of a delegated account is this designator followed by the delegate's address.
DELEGATION_PREFIX = bytes.fromhex("ef0100")
OPERATOR_ROLE = Web3.keccak(text="OPERATOR_ROLE")


def _campaign_with_investors(open_campaign, make_investor, count: int = 3):  # noqa: F811
    """An open campaign and `count` KYC'd investors who each put 10 in, recorded on chain."""
    campaign = open_campaign(goal="30", hard_cap="1000")
    investors = []
    for _ in range(count):
        _user, client, wallet = make_investor()
        invested = client.post(f"/api/campaigns/{campaign.pk}/investments/", {"amount": "10"}, format="json")
        assert invested.status_code == 202, invested.json()
        investors.append((client, wallet))
    settle_outbox()
    return campaign, investors


def _delegate_by_type4(chain, wallet, *, to: str) -> None:
    """`wallet` (an EOA) delegates itself to the code at `to` with a real type-4 transaction it
    signs and sends itself (its authorization nonce is one above the transaction's). It calls another
    EOA: a call to the wallet itself would run the delegate's code, which has no fallback."""
    w3 = get_web3()
    chain.rpc("anvil_setBalance", wallet.address, hex(10**18))
    nonce = w3.eth.get_transaction_count(wallet.address)
    authorization = Account.sign_authorization(
        {"chainId": w3.eth.chain_id, "address": to, "nonce": nonce + 1}, wallet.key
    )
    tx = {
        "type": 4,
        "chainId": w3.eth.chain_id,
        "nonce": nonce,
        "to": BORROWER,
        "value": 0,
        "data": b"",
        "gas": 100_000,
        "maxFeePerGas": 50 * 10**9,
        "maxPriorityFeePerGas": 10**9,
        "accessList": (),
        "authorizationList": [authorization],
    }
    tx_hash = w3.eth.send_raw_transaction(wallet.sign_transaction(tx).raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
    assert receipt["status"] == 1 and receipt["type"] == 4
    assert bytes(w3.eth.get_code(wallet.address)) == DELEGATION_PREFIX + bytes.fromhex(to[2:])


def _receiver_without_hook(contracts) -> bytes:
    """Runtime code of a real contract that has no onERC721Received (nor a fallback)."""
    code = bytes(get_web3().eth.get_code(contracts["LoanRegistry"]))
    assert code
    return code


def _mints(campaign) -> list[ChainTransaction]:
    return list(ChainTransaction.objects.filter(campaign__pk=campaign.pk, kind=MINT_KIND).order_by("id"))


def _assert_every_certificate_minted(campaign, investors, token) -> None:
    for client, wallet in investors:
        mine = client.get("/api/certificates/").json()["results"]
        assert len(mine) == 1, mine
        assert mine[0]["status"] == "minted" and mine[0]["chain"]["status"] == "confirmed", mine[0]
        assert token.call("ownerOf", mine[0]["token_id"]) == wallet.address
    assert ShareCertificate.objects.filter(campaign=campaign, status=CertificateStatus.MINTED).count() == len(
        investors
    )


def test_an_investor_delegated_by_eip7702_gets_a_certificate_with_the_others(
    open_campaign,  # noqa: F811
    make_investor,  # noqa: F811
    contracts,
    chain,
):
    campaign, investors = _campaign_with_investors(open_campaign, make_investor)
    delegated = investors[1][1]
    _delegate_by_type4(chain, delegated, to=contracts["LoanRegistry"])  # code without the receiver hook

    end_campaign(campaign)

    assert campaign.status == CampaignStatus.SUCCESSFUL
    [mint] = _mints(campaign)  # one mintBatch carried all three, the delegated receiver among them
    assert mint.status == TxStatus.CONFIRMED and delegated.address in mint.args[1]
    _assert_every_certificate_minted(campaign, investors, bound("ShareCertificate"))
    assert bytes(get_web3().eth.get_code(delegated.address)).startswith(DELEGATION_PREFIX)


def test_an_investor_whose_wallet_became_a_contract_gets_a_certificate_with_the_others(
    open_campaign,  # noqa: F811
    make_investor,  # noqa: F811
    contracts,
    chain,
):
    campaign, investors = _campaign_with_investors(open_campaign, make_investor)
    contract_wallet = investors[0][1]
    # The wallet was bound and invested as an EOA; now it is a contract without onERC721Received.
    chain.rpc("anvil_setCode", contract_wallet.address, "0x" + _receiver_without_hook(contracts).hex())

    end_campaign(campaign)

    assert campaign.status == CampaignStatus.SUCCESSFUL
    [mint] = _mints(campaign)
    assert mint.status == TxStatus.CONFIRMED and contract_wallet.address in mint.args[1]
    _assert_every_certificate_minted(campaign, investors, bound("ShareCertificate"))


def _point_the_platform_at_a_safe_minting_certificate(deployed_suite) -> str:
    """Deploy the test-only SafeMintShareCertificate (operator and admin: the platform signer) from
    another account and record it as the platform's ShareCertificate for this test."""
    w3 = get_web3()
    data = creation_data(load_artifact("SafeMintShareCertificate"), [OPERATOR, OPERATOR])
    tx_hash = w3.eth.send_transaction({"from": BORROWER, "data": "0x" + data.hex()})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
    assert receipt["status"] == 1
    harness = DeployedContract(
        name="ShareCertificate",
        address=Web3.to_checksum_address(receipt["contractAddress"]),
        block_number=receipt["blockNumber"],
        tx_hash=tx_hash.to_0x_hex(),
        gas_used=receipt["gasUsed"],
    )
    record_suite(
        chain_id=settings.CHAIN_ID,
        deployed=[harness if d.name == "ShareCertificate" else d for d in deployed_suite],
    )
    return harness.address


def test_a_batch_that_reverts_naming_one_receiver_is_split_and_only_that_certificate_fails(
    open_campaign,  # noqa: F811
    make_investor,  # noqa: F811
    contracts,
    deployed_suite,
    chain,
):
    harness = _point_the_platform_at_a_safe_minting_certificate(deployed_suite)
    campaign, investors = _campaign_with_investors(open_campaign, make_investor)
    (rejecting_client, rejecting), others = investors[1], [investors[0], investors[2]]
    chain.rpc("anvil_setCode", rejecting.address, "0x" + _receiver_without_hook(contracts).hex())

    end_campaign(campaign)

    assert campaign.status == CampaignStatus.SUCCESSFUL
    first, second = _mints(campaign)  # the failed batch and the one that replaced it, nothing more
    assert first.contract_address == second.contract_address == harness
    assert first.status == TxStatus.FAILED and first.error_code == "ERC721InvalidReceiver"
    assert first.error["args"] == {"receiver": rejecting.address}
    assert len(first.args[1]) == 3
    assert second.status == TxStatus.CONFIRMED
    assert second.args[1] == [wallet.address for _client, wallet in others]

    failed = ShareCertificate.objects.get(campaign=campaign, investment__investor_wallet=rejecting.address)
    assert failed.status == CertificateStatus.FAILED and failed.token_id is None
    assert failed.last_chain_error == f"mintBatch failed: ERC721InvalidReceiver(receiver={rejecting.address})"
    [shown] = rejecting_client.get("/api/certificates/").json()["results"]
    assert shown["status"] == "failed" and shown["chain"]["status"] == "failed"
    assert shown["chain"]["error"]["code"] == "ERC721InvalidReceiver"
    _assert_every_certificate_minted(campaign, others, bound("ShareCertificate"))

    # What the chain says changes nothing of that, and declares nothing (intent is not observation).
    Indexer().run()
    settle_outbox()
    failed.refresh_from_db()
    assert failed.status == CertificateStatus.FAILED
    assert len(_mints(campaign)) == 2


def test_a_batch_failure_naming_no_receiver_fails_the_whole_batch(
    open_campaign,  # noqa: F811
    make_investor,  # noqa: F811
    contracts,
    chain,
):
    campaign, investors = _campaign_with_investors(open_campaign, make_investor)
    # The platform's signer loses the minting role: the revert names an address, but no receiver.
    send(contracts["ShareCertificate"], "ShareCertificate", "revokeRole", OPERATOR_ROLE, OPERATOR)

    end_campaign(campaign)

    [mint] = _mints(campaign)  # nothing declared again
    assert mint.status == TxStatus.FAILED and mint.error_code == "AccessControlUnauthorizedAccount"
    assert mint.error["args"]["account"] == OPERATOR
    certificates = ShareCertificate.objects.filter(campaign=campaign)
    assert [c.status for c in certificates] == [CertificateStatus.FAILED] * len(investors)
    assert {c.last_chain_error for c in certificates} == {
        f"mintBatch failed: AccessControlUnauthorizedAccount(account={OPERATOR}, "
        f"neededRole=0x{OPERATOR_ROLE.hex().removeprefix('0x')})"
    }
