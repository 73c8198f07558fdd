"""Driving the outbox in-process (sender + confirmer against anvil) and waiting for conditions."""

from __future__ import annotations

import time

from blockchain.models import IN_FLIGHT_STATUSES, ChainTransaction
from blockchain.outbox.confirmer import confirm_pending
from blockchain.outbox.sender import send_queued


def settle_outbox(*, rounds: int = 10) -> None:
    """Sign, send and confirm until nothing is in flight (CHAIN_CONFIRMATIONS is 0 in tests). More
    than one round when a direct call by the same signer took a nonce and a row was re-queued."""
    for _ in range(rounds):
        send_queued()
        confirm_pending()
        if not ChainTransaction.objects.filter(status__in=IN_FLIGHT_STATUSES).exists():
            return
    raise AssertionError("the outbox did not settle")


def wait_for(predicate, *, timeout: float, interval: float = 0.2, what: str = "condition"):
    """Poll `predicate` until it returns something truthy (returned), or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
