"""Driving the outbox in-process (sender + confirmer against anvil), waiting for conditions, and
outbox rows written straight into the table for read-path tests that need no chain."""

from __future__ import annotations

import itertools
import secrets
import time
import uuid

from django.contrib.contenttypes.models import ContentType
from django.db import models
from eth_utils import to_checksum_address

from blockchain.chain.client import get_web3
from blockchain.models import IN_FLIGHT_STATUSES, ChainTransaction, TxStatus
from blockchain.outbox.confirmer import confirm_pending
from blockchain.outbox.sender import send_queued


def settle_outbox(*, rounds: int = 10) -> None:
    """Sign, send and confirm until nothing is in flight (CHAIN_CONFIRMATIONS is 0 in tests). More
    than one round when a direct call by the same signer took a nonce and a row was re-queued. Each
    round confirms once the node holds the sent rows' receipts (`confirm_mined`): ten rounds back to
    back once ran, on a loaded machine, before anvil had mined a pool signer's batch."""
    for _ in range(rounds):
        send_queued()
        confirm_mined()
        if not ChainTransaction.objects.filter(status__in=IN_FLIGHT_STATUSES).exists():
            return
    raise AssertionError("the outbox did not settle")


def confirm_mined(*, timeout: float = 60) -> None:
    """`confirm_pending()` once the node holds a receipt for every sent row. The confirmer reads
    receipts and never waits for mining; anvil mines a sent transaction at once, but on a loaded
    machine "at once" has come after confirm_pending looked (the row then correctly stays sent)."""
    wait_for_receipts(
        ChainTransaction.objects.filter(status=TxStatus.SENT).values_list("tx_hash", flat=True),
        timeout=timeout,
    )
    confirm_pending()


def wait_for_receipts(tx_hashes, *, timeout: float = 60) -> None:
    """Until the node holds a receipt for each hash (anvil mines at once, but on a loaded machine
    "at once" can come after the caller looks)."""
    w3 = get_web3()
    for tx_hash in tx_hashes:
        w3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout, poll_latency=0.05)


def wait_for(predicate, *, timeout: float, interval: float = 0.2, what: str = "condition"):
    """Poll `predicate` until it returns something truthy (returned), or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


_nonces = itertools.count(1)


def outbox_row(
    subject: models.Model, kind: str, status: str, *, save: bool = True, **fields
) -> ChainTransaction:
    """An outbox row of SUBJECT in STATUS as the sender would have left it (signed, hashed, a nonce of
    its own), saved unless `save=False` (for bulk_create); FIELDS override any column."""
    nonce = next(_nonces)
    values = {
        "kind": kind,
        "idempotency_key": f"test-row-{uuid.uuid4().hex}",
        "chain_id": 31337,
        "contract_name": "Test",
        "contract_address": to_checksum_address("0x" + secrets.token_hex(20)),
        "function": "f",
        "calldata": b"",
        "content_type": ContentType.objects.get_for_model(subject),
        "object_id": subject.pk,
        "status": status,
        "signer": "0x" + "1" * 40,
        "nonce": nonce,
        "raw_tx": b"\x01",
        "tx_hash": "0x" + uuid.uuid4().hex * 2,
        **fields,
    }
    row = ChainTransaction(**values)
    if save:
        row.save()
    return row
