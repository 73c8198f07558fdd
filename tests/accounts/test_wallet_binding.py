"""Wallet binding by EIP-4361: happy path, replay, wrong signer, expiry, foreign domain/chain, tampering."""

from dataclasses import replace
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone
from eth_account import Account

from accounts.models import User, WalletChallenge
from accounts.siwe import parse_siwe_message
from tests.support.wallets import CHALLENGE, VERIFY, challenge_for, deploy_contract_wallet, sign

pytestmark = pytest.mark.django_db

_VALID = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"  # EIP-55 test vector
BAD_CHECKSUM = _VALID[:3] + _VALID[3].upper() + _VALID[4:]  # one letter's case flipped


def test_challenge_message_is_eip4361_with_our_domain_chain_and_a_fresh_nonce(auth_client, settings):
    client, wallet = auth_client("investor"), Account.create()
    first, second = challenge_for(client, wallet), challenge_for(client, wallet)
    parsed = parse_siwe_message(first)
    assert parsed.domain == "testserver" and parsed.uri == "http://testserver"  # the host asked
    assert parsed.address == wallet.address  # checksummed even though we sent lowercase
    assert parsed.chain_id == settings.CHAIN_ID
    assert parsed.expiration_time - parsed.issued_at == timedelta(seconds=600)
    assert parse_siwe_message(second).nonce != parsed.nonce


def test_bind_wallet_happy_path_shows_in_me(auth_client):
    client, wallet = auth_client("investor"), Account.create()
    message = challenge_for(client, wallet)
    response = client.post(VERIFY, {"message": message, "signature": sign(wallet, message)}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"wallet_address": wallet.address, "wallet_verified": True}
    me = client.get("/api/auth/me/").json()
    assert me["wallet_address"] == wallet.address and me["wallet_verified"] is True


def test_replayed_message_is_refused_with_409(auth_client):
    client, wallet = auth_client("investor"), Account.create()
    message = challenge_for(client, wallet)
    payload = {"message": message, "signature": sign(wallet, message)}
    assert client.post(VERIFY, payload, format="json").status_code == 200
    replay = client.post(VERIFY, payload, format="json")
    assert replay.status_code == 409 and replay.json()["code"] == "challenge_used"


@pytest.mark.chain
def test_signature_by_another_wallet_is_refused_and_binds_nothing(auth_client, chain):
    client, wallet, intruder = auth_client("investor"), Account.create(), Account.create()
    message = challenge_for(client, wallet)
    response = client.post(VERIFY, {"message": message, "signature": sign(intruder, message)}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "signature_mismatch"
    assert User.objects.get(pk=client.user.pk).wallet_address is None
    # the challenge was not burnt by the failed attempt: the real wallet can still use it
    assert (
        client.post(
            VERIFY, {"message": message, "signature": sign(wallet, message)}, format="json"
        ).status_code
        == 200
    )


def test_expired_challenge_is_refused(auth_client):
    client, wallet = auth_client("investor"), Account.create()
    message = challenge_for(client, wallet)
    later = timezone.now() + timedelta(minutes=11)
    with mock.patch("accounts.services.timezone.now", return_value=later):
        response = client.post(
            VERIFY, {"message": message, "signature": sign(wallet, message)}, format="json"
        )
    assert response.status_code == 400 and response.json()["code"] == "challenge_expired"


def test_message_for_a_foreign_domain_is_refused(auth_client):
    client, wallet = auth_client("investor"), Account.create()
    ours = parse_siwe_message(challenge_for(client, wallet))
    phishing = replace(ours, domain="evil.example").to_text()
    response = client.post(VERIFY, {"message": phishing, "signature": sign(wallet, phishing)}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "domain_mismatch"


def test_message_for_another_chain_is_refused(auth_client):
    client, wallet = auth_client("investor"), Account.create()
    other_chain = replace(parse_siwe_message(challenge_for(client, wallet)), chain_id=1).to_text()
    response = client.post(
        VERIFY, {"message": other_chain, "signature": sign(wallet, other_chain)}, format="json"
    )
    assert response.status_code == 400 and response.json()["code"] == "chain_mismatch"


def test_tampered_message_with_a_valid_nonce_is_refused(auth_client):
    client, wallet = auth_client("investor"), Account.create()
    tampered = replace(
        parse_siwe_message(challenge_for(client, wallet)), statement="I agree to anything."
    ).to_text()
    response = client.post(VERIFY, {"message": tampered, "signature": sign(wallet, tampered)}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "unknown_challenge"


def test_another_users_challenge_cannot_be_redeemed(auth_client):
    alice, mallory, wallet = auth_client("investor"), auth_client("investor"), Account.create()
    message = challenge_for(alice, wallet)
    response = mallory.post(VERIFY, {"message": message, "signature": sign(wallet, message)}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "unknown_challenge"


def test_wallet_bound_to_another_account_is_a_conflict(auth_client):
    alice, bob, wallet = auth_client("investor"), auth_client("investor"), Account.create()
    message = challenge_for(alice, wallet)
    assert (
        alice.post(
            VERIFY, {"message": message, "signature": sign(wallet, message)}, format="json"
        ).status_code
        == 200
    )
    message = challenge_for(bob, wallet)
    response = bob.post(VERIFY, {"message": message, "signature": sign(wallet, message)}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "wallet_taken"
    assert WalletChallenge.objects.get(nonce=parse_siwe_message(message).nonce).used_at is None


@pytest.mark.parametrize(
    "message",
    ["", "hello", "localhost:8000 wants you to sign in with your Ethereum account:\n0xnothex\n\n\nURI: x"],
)
def test_malformed_message_is_400(auth_client, message):
    client = auth_client("investor")
    response = client.post(VERIFY, {"message": message, "signature": "0x" + "11" * 65}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] in ("malformed_message", "blank")


@pytest.mark.parametrize("signature", ["0x1234", "zz" * 65, "", 42, None])
def test_malformed_signature_is_400(auth_client, signature):
    client, wallet = auth_client("investor"), Account.create()
    message = challenge_for(client, wallet)
    response = client.post(VERIFY, {"message": message, "signature": signature}, format="json")
    assert response.status_code == 400 and "signature" in response.json()["errors"]


@pytest.mark.chain
def test_unrecoverable_signature_is_400(auth_client, chain):
    """No key made it, and the wallet has no code to accept it (EIP-1271): it proves nothing."""
    client, wallet = auth_client("investor"), Account.create()
    message = challenge_for(client, wallet)
    response = client.post(VERIFY, {"message": message, "signature": "0x" + "00" * 65}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "signature_mismatch"


@pytest.mark.parametrize(
    "address",
    [
        BAD_CHECKSUM,
        "0x123",
        "52908400098527886e0f7030069857d2e4169ee7",
        "0x0000000000000000000000000000000000000000",
        {"a": 1},
    ],
)
def test_challenge_for_invalid_address_is_400(auth_client, address):
    response = auth_client("investor").post(CHALLENGE, {"address": address}, format="json")
    assert response.status_code == 400 and "address" in response.json()["errors"]


def test_wallet_endpoints_require_authentication(api_client):
    assert api_client.post(CHALLENGE, {"address": Account.create().address}, format="json").status_code == 401
    assert api_client.post(VERIFY, {"message": "x", "signature": "0x"}, format="json").status_code == 401


@pytest.mark.chain
def test_a_contract_wallet_binds_through_eip1271(auth_client, chain):
    """EIP-4361 verifies contract accounts with EIP-1271: the wallet's owner signs, the contract's
    isValidSignature accepts, and the contract's address is bound (no key of its own exists)."""
    client, owner = auth_client("investor"), Account.create()
    contract_wallet = deploy_contract_wallet(owner)
    message = challenge_for(client, type("Wallet", (), {"address": contract_wallet})())
    stranger = client.post(
        VERIFY, {"message": message, "signature": sign(Account.create(), message)}, format="json"
    )
    assert stranger.status_code == 400 and stranger.json()["code"] == "signature_mismatch"
    response = client.post(VERIFY, {"message": message, "signature": sign(owner, message)}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"wallet_address": contract_wallet, "wallet_verified": True}


def test_the_challenge_names_the_host_it_was_asked_from(auth_client):
    client, wallet = auth_client("investor"), Account.create()
    response = client.post(CHALLENGE, {"address": wallet.address}, format="json", HTTP_HOST="127.0.0.1:8000")
    assert response.status_code == 201, response.content
    message = response.json()["message"]
    parsed = parse_siwe_message(message)
    assert parsed.domain == "127.0.0.1:8000" and parsed.uri == "http://127.0.0.1:8000"
    bound = client.post(VERIFY, {"message": message, "signature": sign(wallet, message)}, format="json")
    assert bound.status_code == 200, bound.content


def test_a_host_that_is_not_this_site_gets_no_challenge(auth_client):
    client, wallet = auth_client("investor"), Account.create()
    response = client.post(
        CHALLENGE, {"address": wallet.address}, format="json", HTTP_HOST="wallet-drainer.example"
    )
    assert response.status_code == 400
    assert not WalletChallenge.objects.filter(address=wallet.address).exists()


def test_the_public_domain_is_accepted_beside_the_served_hosts(settings):
    from accounts.wallet_proof import siwe_domain_allowed

    settings.SIWE_DOMAIN = "app.ledgerbridge.example"
    settings.ALLOWED_HOSTS = ["api.ledgerbridge.example", ".internal.example"]
    assert siwe_domain_allowed("app.ledgerbridge.example")
    assert siwe_domain_allowed("api.ledgerbridge.example:443")
    assert siwe_domain_allowed("node1.internal.example")
    assert not siwe_domain_allowed("ledgerbridge.example.evil.com")
    assert not siwe_domain_allowed("")
