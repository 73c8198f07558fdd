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


class _Seen:
    """One delivered event as a projection key (identity-hashed: the event's args are a dict)."""

    def __init__(self, event) -> None:
        self.event = event


def record_projected(monkeypatch, artifact: str, event_name: str) -> dict[str, list]:
    """Register a projection that records every `artifact.event_name` event the platform projects,
    sorted by whether the stored event is live ("stored") or orphaned ("removed") at that moment."""
    from blockchain.indexing import registry
    from blockchain.models import ChainEvent

    seen: dict[str, list] = {"stored": [], "removed": []}

    def project(keys: set) -> None:
        for key in keys:
            event = key.event
            removed = (
                ChainEvent.objects.filter(
                    tx_hash=event.tx_hash, log_index=event.log_index, block_hash=event.block_hash
                )
                .values_list("removed", flat=True)
                .first()
            )
            seen["removed" if removed else "stored"].append(event)

    monkeypatch.setitem(
        registry._projections,
        "test.recorder",
        registry.Projection(
            name="test.recorder",
            kinds=frozenset({(artifact, event_name)}),
            keys=lambda e: [_Seen(e)],
            project=project,
        ),
    )
    return seen
