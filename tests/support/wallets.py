"""The wallet-binding flow as a frontend drives it: ask for an EIP-4361 challenge, sign, verify."""

from __future__ import annotations

from eth_account import Account
from eth_account.messages import encode_defunct

CHALLENGE = "/api/auth/wallet/challenge/"
VERIFY = "/api/auth/wallet/verify/"


def sign(account, message: str) -> str:
    """An EIP-191 personal_sign signature of `message`, as a wallet returns it (0x-hex)."""
    return "0x" + account.sign_message(encode_defunct(text=message)).signature.hex().removeprefix("0x")


def challenge_for(client, account) -> str:
    response = client.post(CHALLENGE, {"address": account.address.lower()}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["message"]


def bind_wallet(client) -> Account:
    """Bind a fresh wallet to the client's user; returns the wallet's account."""
    wallet = Account.create()
    message = challenge_for(client, wallet)
    response = client.post(VERIFY, {"message": message, "signature": sign(wallet, message)}, format="json")
    assert response.status_code == 200, response.content
    return wallet
