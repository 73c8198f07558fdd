"""The wallet-binding flow as a frontend drives it: ask for an EIP-4361 challenge, sign, verify."""

from __future__ import annotations

from eth_account import Account
from eth_account.messages import encode_defunct
from web3 import Web3

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


def deploy_contract_wallet(owner) -> str:
    """A real EIP-1271 contract wallet (test-only OwnedContractWallet) whose owner key signs for it."""
    from blockchain.chain.abi import load_artifact
    from blockchain.chain.client import get_web3
    from contracts.deployment import creation_data
    from tests.support.chain import BORROWER

    w3 = get_web3()
    data = creation_data(load_artifact("OwnedContractWallet"), [owner.address])
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_transaction({"from": BORROWER, "data": "0x" + data.hex()}), timeout=30
    )
    assert receipt["status"] == 1
    return Web3.to_checksum_address(receipt["contractAddress"])
