"""Emit events by calling the contracts directly (not through the API or the outbox)."""

from __future__ import annotations

import itertools
import time

from eth_utils import keccak

from blockchain.abi import interface
from blockchain.client import get_web3

OPERATOR = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # anvil account 0: the platform signer
BORROWER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
LENDER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
_ids = itertools.count(1)


def send(address: str, artifact: str, function: str, *args, sender: str = OPERATOR, wait: bool = True) -> str:
    w3 = get_web3()
    tx_hash = w3.eth.send_transaction(
        {"from": sender, "to": address, "data": interface(artifact).encode_call(function, list(args))}
    )
    if wait:
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
        assert receipt["status"] == 1, f"{artifact}.{function} reverted"
    return tx_hash.to_0x_hex()


def store_loan(registry: str, loan_id: str | None = None, **kwargs) -> str:
    loan_id = loan_id or f"IDX-{time.time_ns()}-{next(_ids)}"
    send(registry, "LoanRegistry", "storeLoan", loan_id, keccak(text=loan_id), BORROWER, LENDER, **kwargs)
    return loan_id


def mint_batch(certificates: str, count: int, *, campaign: str = LENDER) -> None:
    refs = [keccak(text=f"cert-{time.time_ns()}-{next(_ids)}") for _ in range(count)]
    send(
        certificates,
        "ShareCertificate",
        "mintBatch",
        refs,
        [BORROWER] * count,
        campaign,
        [1] * count,
        [""] * count,
    )
