"""The sender: queued outbox rows -> simulated -> signed at an allocated nonce -> broadcast.

One pass claims a batch of queued rows (FOR UPDATE SKIP LOCKED, so several workers share the
queue), simulates them in one JSON-RPC batch (a revert fails the row with the decoded custom error
and uses no nonce), then signs the rest while holding the signer's nonce row and stores raw bytes
and hash (`signed`) in the same DB transaction. Only after that commit are the bytes broadcast, so
a crash at any point leaves either an unsigned queued row or stored bytes that are safe to send
again: re-broadcasting identical bytes is idempotent.
"""

from __future__ import annotations

import logging
import random
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from eth_account.signers.local import LocalAccount
from web3 import Web3

from blockchain.announcements import transaction_failed
from blockchain.chain.abi import DecodedError, interface
from blockchain.chain.client import RpcError, get_web3, rpc_batch
from blockchain.chain.fees import FeeCapExceeded, Fees, suggest_fees
from blockchain.chain.signer import get_signer_pool, signer_for
from blockchain.chain.transactions import transaction_signer
from blockchain.models import AttemptStatus, ChainTransaction, NonceAccount, TxAttempt, TxStatus
from blockchain.outbox.hooks import checkpoint, compensate, rows_changed
from blockchain.outbox.lanes import assign_unlaned, queued_lanes
from blockchain.outbox.metrics import OUTBOX_FAILURES, OUTBOX_FEE_WAITS, OUTBOX_TRANSITIONS
from blockchain.outbox.nonces import ensure_nonce_account, reconcile_nonce_account
from core.bulk import bulk_set
from core.collector import paused_gc
from core.log_format import describe_error

logger = logging.getLogger(__name__)

FILLER_KIND = "blockchain.nonce_filler"

# How nodes word the outcomes of eth_sendRawTransaction (geth, anvil/reth, erigon, Polygon Edge).
ALREADY_KNOWN = ("already known", "already imported", "known transaction", "alreadyknown", "already exists")
NONCE_TOO_LOW = ("nonce too low", "nonce is too low", "oldnonce", "nonce has already been used")
UNDERPRICED = ("replacement transaction underpriced", "underpriced", "replacement fee too low")
TRANSIENT = ("insufficient funds", "txpool is full", "pool is full", "rate limit", "too many requests")


def _matches(error: RpcError, phrases: tuple[str, ...]) -> bool:
    text = error.message.lower()
    return any(p in text for p in phrases)


def is_revert(error: RpcError) -> bool:
    """Did the node refuse a simulation because the call reverts (not because the node failed)?

    anvil and geth answer code 3 with the revert data in `error.data`; Hardhat answers -32603 with
    "VM Exception while processing transaction: reverted …" and the data in `error.data.data`.
    """
    data = revert_data(error)
    return error.code == 3 or "revert" in error.message.lower() or (data is not None and len(data) >= 10)


_RETURN_DATA = re.compile(r"return data: (0x[0-9a-fA-F]*)")


def revert_data(error: RpcError) -> str | None:
    """The raw revert bytes (0x-hex) of a refused call, wherever the node put them: `error.data` as a
    string (geth, anvil), `error.data.data` (Hardhat), `error.data.<txhash>.return` (Ganache), or
    only in the message ("… (return data: 0x…)", Hardhat's wording)."""
    data = error.data
    if isinstance(data, dict):
        nested = data.get("data")
        if nested is None:
            nested = next(
                (v.get("return") for v in data.values() if isinstance(v, dict) and "return" in v), None
            )
        data = nested
    if isinstance(data, str) and data.startswith("0x"):
        return data
    match = _RETURN_DATA.search(error.message)
    return match.group(1) if match else None


def decode_revert(row: ChainTransaction, error: RpcError) -> DecodedError:
    if not row.contract_name:
        return DecodedError("Reverted", {"message": error.message})
    decoded = interface(row.contract_name).decode_error(revert_data(error))
    if decoded.name == "EmptyRevert" and error.message:
        return DecodedError("Reverted", {"message": error.message})
    return decoded


def mined_with_revert(row: ChainTransaction, error: RpcError, *, w3: Web3) -> bool:
    """Did the node mine these bytes and answer the broadcast with their revert? An automining
    Hardhat node executes a raw transaction at once and reports a revert as the send's error (with
    `data.txHash`), although the transaction is in a block: it was sent, and the confirmer names
    the revert from its receipt like any other."""
    if not is_revert(error):
        return False
    data = error.data if isinstance(error.data, dict) else {}
    reported = data.get("txHash") or data.get("transactionHash")
    if isinstance(reported, str):
        return reported.lower() == (row.tx_hash or "").lower()
    return bool(row.tx_hash) and receipts_exist(w3, [row.tx_hash])


@dataclass
class SendReport:
    claimed: int = 0
    signed: int = 0
    sent: int = 0
    failed: int = 0
    requeued: int = 0
    transient_errors: list[str] = field(default_factory=list)
    waiting_for_fees: bool = False  # the network's fee is above CHAIN_MAX_FEE_GWEI: intents wait


def call_params(row: ChainTransaction, sender: str) -> dict:
    params = {"from": sender, "to": row.contract_address, "data": "0x" + bytes(row.calldata).hex()}
    if row.value:
        params["value"] = hex(int(row.value))
    return params


def mark_failed(row: ChainTransaction, *, code: str, error: dict, note: str = "") -> None:
    """Fail a row and run its domain's compensation, in the caller's DB transaction."""
    row.status = TxStatus.FAILED
    row.error_code = code
    row.error = error
    row.failed_at = timezone.now()
    if note:
        row.last_error = note
    row.save(update_fields=["status", "error_code", "error", "failed_at", "last_error", "updated_at"])
    OUTBOX_FAILURES.labels(code).inc()
    OUTBOX_TRANSITIONS.labels(TxStatus.FAILED).inc()
    compensate(row)
    transaction_failed(row)  # webhooks: chain.transaction_failed, and its subject's new status
    rows_changed([row])  # its pending delta is gone


def _wait_for_fees(rows: list[ChainTransaction], *, reason: str, report: SendReport) -> None:
    note = f"waiting for fees: {reason}"[:1000]
    ChainTransaction.objects.filter(pk__in=[row.pk for row in rows]).update(
        last_error=note, updated_at=timezone.now()
    )
    report.waiting_for_fees = True
    OUTBOX_FEE_WAITS.inc()
    logger.warning("outbox: %d intents wait for fees (%s)", len(rows), reason)


def sign_into(
    row: ChainTransaction, *, signer: LocalAccount, nonce: int, gas: int, fees: Fees, chain_id: int
) -> TxAttempt:
    """Sign `row` at `nonce`; fill the row's signed fields and return the (unsaved) attempt."""
    signed = transaction_signer(signer).sign_dynamic_fee(
        chain_id=chain_id,
        nonce=nonce,
        max_priority_fee_per_gas=fees.max_priority_fee_per_gas,
        max_fee_per_gas=fees.max_fee_per_gas,
        gas=gas,
        to=row.contract_address,
        value=int(row.value),
        data=bytes(row.calldata),
    )
    tx_hash = "0x" + bytes(signed.hash).hex()
    raw = bytes(signed.raw_transaction)
    row.signer = signer.address
    row.nonce = nonce
    row.gas_limit = gas
    row.max_fee_per_gas = fees.max_fee_per_gas
    row.max_priority_fee_per_gas = fees.max_priority_fee_per_gas
    row.raw_tx = raw
    row.tx_hash = tx_hash
    return TxAttempt(
        transaction=row,
        tx_hash=tx_hash,
        nonce=nonce,
        gas_limit=gas,
        max_fee_per_gas=fees.max_fee_per_gas,
        max_priority_fee_per_gas=fees.max_priority_fee_per_gas,
        raw_tx=raw,
    )


# Broadcast and not yet in a block: their effects exist only in the node's pending state.
UNMINED_STATUSES = (TxStatus.SIGNED, TxStatus.SENT)


def simulation_blocks(rows: list[ChainTransaction]) -> list[str]:
    """The block each row is simulated against: `pending` for a row whose ordering key has an
    intent signed or sent before it and not yet mined (the intents one entity declares build on
    each other), `latest` for the rest.

    Building the pending block costs the node the execution of its whole pool again (anvil: 100
    estimates took 0.03 s with an empty pool and 0.18 s with 88 transactions waiting), once per
    call; `latest` is already built. A row that reverts against `latest` is simulated again
    against `pending` before it fails (_simulate), so an intent that builds on another key's unmined
    one is not failed by a state the chain is about to leave."""
    keys = {row.ordering_key for row in rows if row.ordering_key}
    unmined: set[str] = set()
    if keys:
        unmined = set(
            ChainTransaction.objects.filter(
                chain_id=rows[0].chain_id, ordering_key__in=keys, status__in=UNMINED_STATUSES
            ).values_list("ordering_key", flat=True)
        )
    blocks = []
    earlier: set[str] = set()  # the same key earlier in this batch: its row is not sent yet either
    for row in rows:
        key = row.ordering_key
        blocks.append("pending" if key and (key in unmined or key in earlier) else "latest")
        if key:
            earlier.add(key)
    return blocks


def _simulate(w3: Web3, rows: list[ChainTransaction], sender: str) -> list:
    """eth_estimateGas for every row in one batch (against simulation_blocks' block), then once more
    against `pending` for each row `latest` refused with a revert: only a revert there fails it."""
    blocks = simulation_blocks(rows)
    results = rpc_batch(
        w3,
        [
            ("eth_estimateGas", [call_params(row, sender), block])
            for row, block in zip(rows, blocks, strict=True)
        ],
    )
    again = [
        i
        for i, (result, block) in enumerate(zip(results, blocks, strict=True))
        if block == "latest" and isinstance(result, RpcError) and is_revert(result)
    ]
    if again:
        retried = rpc_batch(
            w3, [("eth_estimateGas", [call_params(rows[i], sender), "pending"]) for i in again]
        )
        for i, result in zip(again, retried, strict=True):
            results[i] = result
    return results


def _lock_lane(w3: Web3, chain_id: int, address: str, *, wait: bool) -> NonceAccount | None:
    """Lock the signer's allocator row for this DB transaction. Without `wait`, None when another
    worker holds it (that worker is draining the lane; this one moves on to another lane)."""
    ensure_nonce_account(w3=w3, chain_id=chain_id, address=address)
    return (
        NonceAccount.objects.select_for_update(skip_locked=not wait)
        .filter(chain_id=chain_id, address=address)
        .first()
    )


LANE_BUSY = None  # _claim_and_sign's answer when another worker holds the lane


def _claim_and_sign(
    w3: Web3, signer: LocalAccount, chain_id: int, batch_size: int, report: SendReport, *, wait: bool = False
) -> list[ChainTransaction] | None:
    """One batch of one lane: lock the signer's nonce row first (one worker per lane at a time, so
    the lane's rows are signed in id order), then claim its queued rows, simulate them from the
    signer, sign at contiguous nonces. Returns the signed rows, or LANE_BUSY (only without `wait`)."""
    with transaction.atomic():
        account = _lock_lane(w3, chain_id, signer.address, wait=wait)
        if account is None:
            return LANE_BUSY
        rows = list(
            ChainTransaction.objects.select_for_update(skip_locked=True)
            .filter(status=TxStatus.QUEUED, chain_id=chain_id, signer=signer.address)
            .order_by("id")[:batch_size]
        )
        if not rows:
            return []
        report.claimed += len(rows)
        estimates = _simulate(w3, rows, signer.address)
        ready: list[tuple[ChainTransaction, int]] = []
        for row, estimate in zip(rows, estimates, strict=True):
            if isinstance(estimate, RpcError):
                if is_revert(estimate):
                    decoded = decode_revert(row, estimate)
                    mark_failed(row, code=decoded.name, error={"name": decoded.name, "args": decoded.args})
                    report.failed += 1
                else:  # the node could not simulate now: leave it queued for the next pass
                    row.last_error = f"simulation: {estimate.message}"[:1000]
                    row.save(update_fields=["last_error", "updated_at"])
                    report.transient_errors.append(estimate.message)
                continue
            gas = int(int(estimate, 16) * settings.OUTBOX_GAS_MULTIPLIER)
            ready.append((row, gas))
        if not ready:
            return []
        try:
            fees = suggest_fees(w3)
        except FeeCapExceeded as exc:
            # Not a failure: the intents wait, queued, until the network's fee is under the cap
            # again (every pass checks). Operators see why on each row and get an alert.
            _wait_for_fees([row for row, _gas in ready], reason=str(exc), report=report)
            return []
        now = timezone.now()
        attempts = []
        for row, gas in ready:
            attempts.append(
                sign_into(row, signer=signer, nonce=account.next_nonce, gas=gas, fees=fees, chain_id=chain_id)
            )
            account.next_nonce += 1
            row.status = TxStatus.SIGNED
            row.signed_at = now
            row.last_error = ""
        account.save(update_fields=["next_nonce", "updated_at"])
        signed_rows = [row for row, _gas in ready]
        for row in signed_rows:
            row.updated_at = now
        bulk_set(
            ChainTransaction,
            signed_rows,
            [
                "status",
                "signer",
                "nonce",
                "gas_limit",
                "max_fee_per_gas",
                "max_priority_fee_per_gas",
                "raw_tx",
                "tx_hash",
                "signed_at",
                "last_error",
                "updated_at",
            ],
        )
        TxAttempt.objects.bulk_create(attempts)
        report.signed += len(signed_rows)
        OUTBOX_TRANSITIONS.labels(TxStatus.SIGNED).inc(len(signed_rows))
        return signed_rows


def _keyless_lane(address: str, chain_id: int) -> None:
    """Queued rows on a signer this process has no key for (removed from settings while rows were
    still on it): say so on the rows; a process that has the key, or an operator, must finish them."""
    note = f"no key for signer {address} in this process's signer pool"
    ChainTransaction.objects.filter(chain_id=chain_id, status=TxStatus.QUEUED, signer=address).exclude(
        last_error=note
    ).update(last_error=note, updated_at=timezone.now())
    logger.error("outbox: %s; its queued intents wait", note)


def send_queued(
    *,
    batch_size: int | None = None,
    max_batches: int = 50,
    on_backlog: Callable[[], None] | None = None,
    on_broadcast: Callable[[list[ChainTransaction]], object] | None = None,
) -> SendReport:
    """Drain queued rows lane by lane: per signer, simulate, sign and broadcast a batch at a time,
    until none is left. A lane another worker holds is skipped (that worker drains it).

    `on_backlog` is called once when a full batch shows more work is waiting (another worker can
    join the drain), and again if this run stops at `max_batches` with rows left. `on_broadcast` is
    handed the rows of each batch the node accepted, outside the lane's lock (the worker's task
    reads back the receipts that already exist: confirmer.confirm_landed); what it raises is logged.
    """
    with paused_gc():  # batches allocate thousands of acyclic objects (core.collector)
        return _send_queued(
            batch_size=batch_size, max_batches=max_batches, on_backlog=on_backlog, on_broadcast=on_broadcast
        )


def _send_queued(
    *,
    batch_size: int | None,
    max_batches: int,
    on_backlog: Callable[[], None] | None,
    on_broadcast: Callable[[list[ChainTransaction]], object] | None,
) -> SendReport:
    w3 = get_web3()
    pool = get_signer_pool()
    chain_id = settings.CHAIN_ID
    size = batch_size or settings.OUTBOX_BATCH_SIZE
    report = SendReport()
    asked_for_help = False
    batches = 0
    wait_for: list[str] = []
    while batches < max_batches:
        assign_unlaned(chain_id)
        if wait_for:
            lanes, wait, wait_for = wait_for, True, []
        else:
            lanes, wait = queued_lanes(chain_id), False
            random.shuffle(lanes)  # workers start on different lanes
        if on_backlog and not asked_for_help and len(lanes) > 1:
            for _ in range(len(lanes) - 1):  # one more worker per other lane: they drain in parallel
                on_backlog()
            asked_for_help = True
        more = False
        stalled = False
        busy: list[str] = []
        for address in lanes:
            signer = pool.get(address)
            if signer is None:
                _keyless_lane(address, chain_id)
                continue
            claimed_before = report.claimed
            signed = _claim_and_sign(w3, signer, chain_id, size, report, wait=wait)
            if signed is LANE_BUSY:
                busy.append(address)
                continue
            batches += 1
            full = report.claimed - claimed_before >= size
            if full and on_backlog and not asked_for_help:
                on_backlog()
                asked_for_help = True
            if signed:
                checkpoint("after_sign")  # stored signed and committed; the node has nothing yet
                broadcast(signed, w3=w3, report=report)
                accepted = [row for row in signed if row.status == TxStatus.SENT]  # mark_broadcast
                if on_broadcast and accepted:
                    _after_broadcast(on_broadcast, accepted)
            if not signed and (report.transient_errors or report.waiting_for_fees):
                stalled = True  # the node cannot simulate now: the next kick or sweep retries
            elif full:
                more = True
            if batches >= max_batches:
                break
        if stalled:
            return report
        if busy:
            # Another worker holds these lanes. It claimed its batch before rows committed since
            # (whose kick woke this worker), and may stop after it: wait for its lock, then take
            # what it left, or a row would sit queued until the sweep.
            wait_for = busy
            continue
        if not more:
            return report
    if on_backlog:
        on_backlog()
    return report


def _after_broadcast(
    on_broadcast: Callable[[list[ChainTransaction]], object], rows: list[ChainTransaction]
) -> None:
    try:
        on_broadcast(rows)
    except Exception as exc:  # the confirmer's pass covers whatever the read-back did not finish
        logger.warning("outbox: reading back %d broadcast rows failed: %s", len(rows), describe_error(exc))


def mark_broadcast(rows: list[ChainTransaction]) -> int:
    """Record that the node has these rows' current versions: signed -> sent (never moving a row
    the confirmer already advanced), one more attempt each. Returns how many became sent."""
    if not rows:
        return 0
    now = timezone.now()
    ids = [row.pk for row in rows]  # one array parameter each (`anyof`), not one per row
    TxAttempt.objects.filter(tx_hash__anyof=[row.tx_hash for row in rows]).update(
        broadcast_at=now, first_broadcast_at=Coalesce("first_broadcast_at", Value(now))
    )
    # A re-broadcast of a row already sent (or further) only counts the attempt.
    ChainTransaction.objects.filter(pk__anyof=ids).exclude(status=TxStatus.SIGNED).update(
        attempts=F("attempts") + 1, updated_at=now
    )
    sent = ChainTransaction.objects.filter(pk__anyof=ids, status=TxStatus.SIGNED).update(
        status=TxStatus.SENT, sent_at=now, attempts=F("attempts") + 1, last_error="", updated_at=now
    )
    for row in rows:  # the callers' copies say what the node has accepted
        if row.status == TxStatus.SIGNED:
            row.status = TxStatus.SENT
    if sent:
        OUTBOX_TRANSITIONS.labels(TxStatus.SENT).inc(sent)
    return sent


def broadcast(
    rows: list[ChainTransaction], *, w3: Web3 | None = None, report: SendReport | None = None
) -> SendReport:
    """eth_sendRawTransaction the stored bytes of each row's current version, in one batch.

    A transport failure (node down) leaves the rows `signed`; the sweep broadcasts them again.
    """
    w3 = w3 or get_web3()
    report = report or SendReport()
    rows = [row for row in rows if row.raw_tx]
    if not rows:
        return report
    try:
        results = rpc_batch(
            w3, [("eth_sendRawTransaction", ["0x" + bytes(row.raw_tx).hex()]) for row in rows]
        )
    except Exception as exc:
        note = f"broadcast: {describe_error(exc)}"[:1000]
        ChainTransaction.objects.filter(pk__in=[r.pk for r in rows]).update(last_error=note)
        report.transient_errors.append(note)
        logger.warning("broadcast of %d transactions failed, will retry: %s", len(rows), note)
        return report
    checkpoint("after_broadcast")  # the node has the bytes; our DB does not know yet
    accepted = []
    for row, result in zip(rows, results, strict=True):
        if (
            not isinstance(result, RpcError)
            or _matches(result, ALREADY_KNOWN)
            or _matches(result, UNDERPRICED)
            or mined_with_revert(row, result, w3=w3)
        ):
            # Underpriced: another version of ours holds this nonce in the pool; the confirmer polls both.
            accepted.append(row)
        elif _matches(result, NONCE_TOO_LOW):
            if handle_nonce_too_low(row, w3=w3):
                report.requeued += 1
            else:
                report.sent += 1
        elif _matches(result, TRANSIENT):
            ChainTransaction.objects.filter(pk=row.pk).update(
                last_error=f"broadcast: {result.message}"[:1000]
            )
            report.transient_errors.append(result.message)
        else:
            reject_permanently(row, result, w3=w3)
            report.failed += 1
    report.sent += len(accepted)
    mark_broadcast(accepted)
    rows_changed(accepted)
    return report


def receipts_of(w3: Web3, hashes: list[str]) -> list:
    """eth_getTransactionReceipt for each hash, in one batch: a receipt dict, None (not mined, or
    unknown) or an RpcError each."""
    return rpc_batch(w3, [("eth_getTransactionReceipt", [h]) for h in hashes]) if hashes else []


def receipts_exist(w3: Web3, hashes: list[str]) -> bool:
    return any(isinstance(r, dict) for r in receipts_of(w3, hashes))


def handle_nonce_too_low(row: ChainTransaction, *, w3: Web3) -> bool:
    """The chain is past this row's nonce. Returns True when the row had to be re-queued.

    If one of our versions was mined, the row just counts as sent (the confirmer finds the receipt).
    Otherwise something else used the nonce (the key used outside the platform): the row goes back
    to `queued` to be signed at a fresh nonce, and the allocator is reconciled with the chain.
    """
    hashes = list(TxAttempt.objects.filter(transaction=row).values_list("tx_hash", flat=True))
    if receipts_exist(w3, hashes):
        mark_broadcast([row])
        return False
    with transaction.atomic():
        locked = ChainTransaction.objects.select_for_update().get(pk=row.pk)
        if locked.status not in (TxStatus.SIGNED, TxStatus.SENT):
            return False
        TxAttempt.objects.filter(transaction=locked).update(status=AttemptStatus.DROPPED)
        locked.status = TxStatus.QUEUED
        locked.nonce = None
        locked.raw_tx = None
        locked.tx_hash = ""
        locked.last_error = f"nonce {row.nonce} was used outside the platform; re-signing"
        locked.save()
    logger.warning("outbox row %s: nonce %s used elsewhere; re-queued", row.pk, row.nonce)
    reconcile_nonce_account(w3=w3, chain_id=row.chain_id, address=row.signer)
    return True


def reject_permanently(row: ChainTransaction, error: RpcError, *, w3: Web3) -> None:
    """The node will never accept these bytes. Fail the row and hand its nonce to a filler."""
    with transaction.atomic():
        locked = ChainTransaction.objects.select_for_update().get(pk=row.pk)
        if locked.status != TxStatus.SIGNED:
            return
        nonce = locked.nonce
        TxAttempt.objects.filter(transaction=locked).update(status=AttemptStatus.DROPPED)
        locked.nonce = None
        locked.raw_tx = None
        locked.tx_hash = ""
        locked.save(update_fields=["nonce", "raw_tx", "tx_hash", "updated_at"])
        mark_failed(locked, code="Rejected", error={"name": "Rejected", "message": error.message})
        filler = create_nonce_filler(
            nonce=nonce, signer=signer_for(locked.signer), chain_id=locked.chain_id, w3=w3
        )
    logger.error("outbox row %s rejected by the node (%s); nonce %s filled", row.pk, error.message, nonce)
    broadcast([filler], w3=w3)


def create_nonce_filler(*, nonce: int, signer: LocalAccount, chain_id: int, w3: Web3) -> ChainTransaction:
    """A 0-value self-transfer at `nonce`, so a nonce nobody will use does not block the ones after it."""
    row = ChainTransaction(
        kind=FILLER_KIND,
        idempotency_key=f"{FILLER_KIND}:{chain_id}:{signer.address}:{nonce}:{uuid.uuid4().hex}",
        chain_id=chain_id,
        contract_name="",
        contract_address=signer.address,
        function="",
        args=[],
        calldata=b"",
        status=TxStatus.SIGNED,
        signed_at=timezone.now(),
    )
    attempt = sign_into(row, signer=signer, nonce=nonce, gas=21_000, fees=suggest_fees(w3), chain_id=chain_id)
    row.save()
    attempt.transaction = row
    attempt.save()
    return row


def fill_nonce_gaps(gaps: list[int], *, w3: Web3 | None = None, address: str = "") -> list[ChainTransaction]:
    """Fill each nonce of `gaps` of the signer `address` (default: the primary) with a filler."""
    w3 = w3 or get_web3()
    signer = signer_for(address)
    fillers = []
    for nonce in gaps:
        with transaction.atomic():
            fillers.append(create_nonce_filler(nonce=nonce, signer=signer, chain_id=settings.CHAIN_ID, w3=w3))
    broadcast(fillers, w3=w3)
    return fillers
