"""Calling the contracts directly on the test chain (not through the API or the outbox), as a
holder or a foreign party would."""

from __future__ import annotations

from blockchain.chain.abi import interface
from blockchain.chain.client import get_web3

OPERATOR = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # anvil account 0: the platform signer
BORROWER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"  # anvil account 1
LENDER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"  # anvil account 2


def send(address: str, artifact: str, function: str, *args, sender: str = OPERATOR, wait: bool = True) -> str:
    """Send `artifact.function(*args)` to `address` from an unlocked anvil account; the tx hash."""
    w3 = get_web3()
    tx_hash = w3.eth.send_transaction(
        {"from": sender, "to": address, "data": interface(artifact).encode_call(function, list(args))}
    )
    if wait:
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
        assert receipt["status"] == 1, f"{artifact}.{function} reverted"
    return tx_hash.to_0x_hex()
