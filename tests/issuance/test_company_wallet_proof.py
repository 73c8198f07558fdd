"""Security issue #20, item 5: a company wallet is proven.

An issuer registers a company only with `wallet_proof`: an EIP-4361 challenge it asked for
(/api/auth/wallet/challenge/), for that wallet, signed by the wallet (its key, or an EIP-1271
contract wallet's `isValidSignature`), unexpired and used once. Every refusal is a 400
`wallet_not_proven` that saves nothing and uses no challenge; a new wallet later needs a proof too. A
KYB credential issued for the wallet before its company existed is linked when the proven company is
created, and approval registers that credential's fingerprint on chain; a company that never proved
its wallet (a row from before proofs) gets no KYB credential.
"""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from eth_account import Account

from accounts.models import WalletChallenge
from blockchain.chain.bindings import bound
from blockchain.chain.client import get_web3
from credentials import services as credential_services
from credentials.models import CredentialLink
from devtools.processes import free_port
from issuers.kyb import kyb_record_fingerprint
from issuers.models import Company
from tests.support.issuance import CID, company_body, proven_company_body, wallet_proof
from tests.support.outbox import settle_outbox
from tests.support.wallets import VERIFY, deploy_contract_wallet

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

ISSUERS = "/api/issuers/"


@pytest.fixture
def kyb_provider(contracts):
    """A KYC-provider institution synced on chain (KYB credentials count only from one)."""
    institution = credential_services.upsert_institution(
        address=Account.create().address, name="Registry Checks AG", kyc_provider=True
    )
    settle_outbox()
    institution.refresh_from_db()
    return institution


def issue_kyb(institution, wallet: str):
    """A KYB credential for `wallet`, issued and confirmed on chain."""
    credential = credential_services.issue_credential(
        actor=None,
        institution=institution,
        subject_wallet=wallet,
        credential_type="kyb",
        document={"kyb": "passed", "wallet": wallet},
    )
    settle_outbox()
    credential.refresh_from_db()
    assert credential.status == "issued", credential.last_chain_error
    return credential


def assert_refused(response, reason: str | None = None) -> None:
    """400 wallet_not_proven in the error envelope, naming the proof."""
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "wallet_not_proven" and body["message"], body
    assert "wallet_proof" in body["errors"], body
    if reason is not None:
        assert body["reason"] == reason, body


def nonce_of(proof: dict) -> str:
    return proof["message"].split("Nonce: ")[1].split("\n")[0]


def unused(proof: dict) -> bool:
    return WalletChallenge.objects.get(nonce=nonce_of(proof)).used_at is None


# --- the proof -----------------------------------------------------------------------------------


def test_a_company_is_created_with_its_wallets_proof_which_is_used_up(issuer, contracts):
    wallet = Account.create()
    body = proven_company_body(issuer, wallet=wallet)
    created = issuer.post(ISSUERS, body, format="json")
    assert created.status_code == 201, created.json()
    company = created.json()
    assert company["kyb_status"] == "pending" and company["wallet_address"] == wallet.address
    assert company["wallet_proven_at"] is not None and "wallet_proof" not in company
    assert Company.objects.get(pk=company["id"]).wallet_proven_at is not None
    assert not unused(body["wallet_proof"])


def test_without_a_proof_nothing_is_saved(issuer, contracts):
    assert_refused(issuer.post(ISSUERS, company_body(), format="json"))
    assert not Company.objects.exists()


@pytest.mark.parametrize(
    ("proof", "reason"),
    [
        (None, None),
        ({}, None),
        ({"message": "I own it", "signature": "0x" + "11" * 65}, "malformed_message"),
        ({"message": "x", "signature": "not hex"}, None),
        ({"signature": "0x" + "11" * 65}, None),
    ],
)
def test_a_malformed_proof_is_refused(issuer, contracts, proof, reason):
    assert_refused(issuer.post(ISSUERS, company_body(wallet_proof=proof), format="json"), reason)
    assert not Company.objects.exists()


def test_a_proof_signed_by_another_key_is_refused_and_does_not_use_the_challenge(issuer, contracts):
    wallet, intruder = Account.create(), Account.create()
    forged = wallet_proof(issuer, wallet.address, intruder)
    refused = issuer.post(
        ISSUERS, company_body(wallet_address=wallet.address, wallet_proof=forged), format="json"
    )
    assert_refused(refused, "signature_mismatch")
    assert not Company.objects.exists() and unused(forged)


def test_a_proof_for_another_address_is_refused(issuer, contracts):
    wallet, other = Account.create(), Account.create()
    proof = wallet_proof(issuer, other.address, other)  # a genuine proof, of another wallet
    refused = issuer.post(
        ISSUERS, company_body(wallet_address=wallet.address, wallet_proof=proof), format="json"
    )
    assert_refused(refused, "address_mismatch")
    assert not Company.objects.exists() and unused(proof)


def test_a_proof_counts_once(issuer, contracts):
    wallet = Account.create()
    body = proven_company_body(issuer, wallet=wallet)
    assert issuer.post(ISSUERS, body, format="json").status_code == 201
    again = issuer.post(ISSUERS, {**body, "registration_number": "HRB 999999"}, format="json")
    assert_refused(again, "challenge_used")  # refused as a proof, before the wallet's uniqueness
    assert Company.objects.count() == 1


def test_a_challenge_used_to_bind_a_wallet_does_not_prove_a_company(issuer, contracts):
    wallet = Account.create()
    proof = wallet_proof(issuer, wallet.address, wallet)
    assert issuer.post(VERIFY, proof, format="json").status_code == 200  # bound to the issuer's account
    refused = issuer.post(
        ISSUERS, company_body(wallet_address=wallet.address, wallet_proof=proof), format="json"
    )
    assert_refused(refused, "challenge_used")
    assert not Company.objects.exists()


def test_an_expired_proof_is_refused(issuer, contracts):
    wallet = Account.create()
    body = proven_company_body(issuer, wallet=wallet)
    challenge = WalletChallenge.objects.get(message=body["wallet_proof"]["message"])
    later = challenge.expires_at + timedelta(seconds=1)  # from the challenge, not the wall clock
    with mock.patch("accounts.wallet_proof.timezone.now", return_value=later):
        refused = issuer.post(ISSUERS, body, format="json")
    assert_refused(refused, "challenge_expired")
    assert not Company.objects.exists() and unused(body["wallet_proof"])


def test_another_users_challenge_is_refused(issuer, auth_client, contracts):
    wallet = Account.create()
    theirs = wallet_proof(auth_client("issuer"), wallet.address, wallet)  # signed by the wallet, for them
    refused = issuer.post(
        ISSUERS, company_body(wallet_address=wallet.address, wallet_proof=theirs), format="json"
    )
    assert_refused(refused, "unknown_challenge")
    assert not Company.objects.exists() and unused(theirs)


def test_a_contract_wallet_proves_itself_through_eip1271(issuer, contracts):
    owner, stranger = Account.create(), Account.create()
    wallet = deploy_contract_wallet(owner)

    forged = wallet_proof(issuer, wallet, stranger)
    assert_refused(
        issuer.post(ISSUERS, company_body(wallet_address=wallet, wallet_proof=forged), format="json"),
        "signature_mismatch",
    )
    assert not Company.objects.exists()

    proof = wallet_proof(issuer, wallet, owner)  # the owner key signs for the contract (EIP-1271)
    created = issuer.post(ISSUERS, company_body(wallet_address=wallet, wallet_proof=proof), format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["wallet_address"] == wallet and not unused(proof)


def test_when_the_node_cannot_answer_the_proof_is_a_503_and_nothing_is_saved(issuer, contracts, settings):
    """A signature the wallet's key did not make needs the chain's EIP-1271 answer: without one the
    proof is neither accepted nor refused, and the challenge stays unused."""
    wallet, other_key = Account.create(), Account.create()
    proof = wallet_proof(issuer, wallet.address, other_key)
    settings.CHAIN_RPC_URL = f"http://127.0.0.1:{free_port()}"
    get_web3.cache_clear()
    try:
        response = issuer.post(
            ISSUERS, company_body(wallet_address=wallet.address, wallet_proof=proof), format="json"
        )
    finally:
        get_web3.cache_clear()
    assert response.status_code == 503 and response.json()["code"] == "chain_unavailable", response.content
    assert "127.0.0.1" not in response.json()["message"]
    assert not Company.objects.exists() and unused(proof)


# --- a new wallet later --------------------------------------------------------------------------


def test_a_new_wallet_needs_its_proof(issuer, contracts):
    company = issuer.post(ISSUERS, proven_company_body(issuer), format="json").json()
    url, new = f"{ISSUERS}{company['id']}/", Account.create()

    assert_refused(issuer.patch(url, {"wallet_address": new.address}, format="json"), "missing")
    other = Account.create()
    mismatch = wallet_proof(issuer, other.address, other)
    assert_refused(
        issuer.patch(url, {"wallet_address": new.address, "wallet_proof": mismatch}, format="json"),
        "address_mismatch",
    )
    assert Company.objects.get(pk=company["id"]).wallet_address == company["wallet_address"]

    moved = issuer.patch(
        url,
        {"wallet_address": new.address, "wallet_proof": wallet_proof(issuer, new.address, new)},
        format="json",
    )
    assert moved.status_code == 200, moved.json()
    assert moved.json()["wallet_address"] == new.address
    assert moved.json()["wallet_proven_at"] >= company["wallet_proven_at"]
    # Other details change without a proof.
    assert issuer.patch(url, {"legal_name": "Renamed GmbH"}, format="json").status_code == 200


# --- squatting and KYB credentials ---------------------------------------------------------------


def test_the_owner_registers_its_wallet_after_a_squatters_attempt_and_gets_its_kyb_credential(
    issuer, auth_client, officer, kyb_provider
):
    owner_wallet = Account.create()
    squatter, squatter_key = auth_client("issuer"), Account.create()
    taken_number = {"registration_number": "HRB 424242", "country": "DE"}

    # The squatter names the owner's wallet (and the owner's registration number): refused either way.
    assert_refused(
        squatter.post(
            ISSUERS, company_body(wallet_address=owner_wallet.address, **taken_number), format="json"
        )
    )
    forged = wallet_proof(squatter, owner_wallet.address, squatter_key)
    assert_refused(
        squatter.post(
            ISSUERS,
            company_body(wallet_address=owner_wallet.address, wallet_proof=forged, **taken_number),
            format="json",
        ),
        "signature_mismatch",
    )
    assert not Company.objects.exists()

    created = issuer.post(
        ISSUERS, proven_company_body(issuer, wallet=owner_wallet, **taken_number), format="json"
    )
    assert created.status_code == 201, created.json()  # no duplicate_wallet, no duplicate_company
    company = Company.objects.get(pk=created.json()["id"])

    kyb = issue_kyb(kyb_provider, owner_wallet.address)  # issued after: linked to the owner's company
    assert list(CredentialLink.objects.filter(credential=kyb).values_list("company", flat=True)) == [
        company.pk
    ]
    assert squatter.get(ISSUERS).json()["count"] == 0


def test_a_kyb_credential_issued_before_the_company_is_linked_and_registered_on_approval(
    issuer, officer, kyb_provider
):
    wallet = Account.create()
    kyb = issue_kyb(kyb_provider, wallet.address)
    assert not CredentialLink.objects.filter(credential=kyb).exists()  # no company yet

    created = issuer.post(ISSUERS, proven_company_body(issuer, wallet=wallet), format="json")
    assert created.status_code == 201, created.json()
    company_id = created.json()["id"]
    assert CredentialLink.objects.filter(credential=kyb, company_id=company_id, purpose="kyb").exists()

    approved = officer.post(f"{ISSUERS}{company_id}/review/", {"decision": "approve"}, format="json")
    assert approved.status_code == 202, approved.json()
    assert approved.json()["kyb_credential_id"] == str(kyb.pk)
    assert approved.json()["kyb_credential_fingerprint"] == kyb.fingerprint
    settle_outbox()
    assert Company.objects.get(pk=company_id).registered
    _registered, vc_hash, ipfs, *_ = bound("IssuerRegistry").call("issuerOf", wallet.address)
    assert "0x" + vc_hash.hex() == kyb.fingerprint and ipfs == CID


def test_after_a_new_wallet_only_that_wallets_kyb_credential_counts(issuer, officer, kyb_provider, chain):
    first, second = Account.create(), Account.create()
    kyb = issue_kyb(kyb_provider, second.address)
    company = issuer.post(ISSUERS, proven_company_body(issuer, wallet=first), format="json").json()
    chain.rpc("evm_increaseTime", 60)  # the next block's time, from which issued_at comes
    old = issue_kyb(kyb_provider, first.address)  # linked, and the newest KYB credential of the company
    assert old.issued_at > kyb.issued_at
    assert CredentialLink.objects.filter(credential=old, company_id=company["id"]).exists()

    moved = issuer.patch(
        f"{ISSUERS}{company['id']}/",
        {"wallet_address": second.address, "wallet_proof": wallet_proof(issuer, second.address, second)},
        format="json",
    )
    assert moved.status_code == 200, moved.json()
    assert CredentialLink.objects.filter(credential=kyb, company_id=company["id"]).exists()
    approved = officer.post(f"{ISSUERS}{company['id']}/review/", {"decision": "approve"}, format="json")
    assert approved.json()["kyb_credential_id"] == str(kyb.pk)
    assert approved.json()["kyb_credential_fingerprint"] == kyb.fingerprint


def test_a_company_that_never_proved_its_wallet_gets_no_kyb_credential(make_user, officer, kyb_provider):
    """A row from before proofs (the squatter's): the wallet's KYB credential is neither linked nor
    registered for it, even if an old link exists; approval falls back to the KYB record's hash."""
    owner, _ = make_user("issuer")
    wallet = Account.create().address
    squatted = Company.objects.create(
        owner=owner,
        legal_name="Squatter Ltd",
        registration_number="HRB 1",
        country="DE",
        wallet_address=wallet,
        document_cid=CID,
    )
    kyb = issue_kyb(kyb_provider, wallet)
    assert not CredentialLink.objects.filter(credential=kyb).exists()
    CredentialLink.objects.create(credential=kyb, company=squatted, purpose="kyb")  # as linked before proofs

    approved = officer.post(f"{ISSUERS}{squatted.pk}/review/", {"decision": "approve"}, format="json")
    assert approved.status_code == 202, approved.json()
    assert approved.json()["kyb_credential_id"] == ""
    assert approved.json()["kyb_credential_fingerprint"] == kyb_record_fingerprint(squatted)
    assert approved.json()["kyb_credential_fingerprint"] != kyb.fingerprint


def test_a_company_from_before_proofs_proves_its_wallet_and_gets_its_kyb_credential(
    issuer, officer, kyb_provider
):
    wallet = Account.create()
    company = Company.objects.create(
        owner=issuer.user,
        legal_name="Early Bird GmbH",
        registration_number="HRB 2",
        country="DE",
        wallet_address=wallet.address,
        document_cid=CID,
    )
    kyb = issue_kyb(kyb_provider, wallet.address)
    url = f"{ISSUERS}{company.pk}/"
    stranger = Account.create()
    forged = wallet_proof(issuer, wallet.address, stranger)
    assert_refused(issuer.patch(url, {"wallet_proof": forged}, format="json"), "signature_mismatch")

    proven = issuer.patch(url, {"wallet_proof": wallet_proof(issuer, wallet.address, wallet)}, format="json")
    assert proven.status_code == 200, proven.json()
    assert proven.json()["wallet_proven_at"] is not None
    approved = officer.post(f"{url}review/", {"decision": "approve"}, format="json")
    assert approved.json()["kyb_credential_fingerprint"] == kyb.fingerprint
