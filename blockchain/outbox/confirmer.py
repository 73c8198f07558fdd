"""The confirmer: follows every hash ever broadcast for in-flight outbox rows until final.

One pass (beat, every few seconds, one at a time under a lock):
- fetch the receipts of every attempt of `sent`/`mined` rows, and of `confirmed` rows still inside
  the reorg watch window, in JSON-RPC batches;
- a receipt: `mined` (other versions `replaced`), then `confirmed` once CHAIN_CONFIRMATIONS blocks
  are on top, when its logs are decoded and handed to the event handlers in the same DB
  transaction; status 0: `failed` with the revert decoded, and the compensation hook;
- no receipt any more for a mined/confirmed row (a reorg): back to `sent`, re-broadcast;
- no receipt yet: re-broadcast the same bytes every OUTBOX_REBROADCAST_SECONDS (a node that lost
  its pool gets them again) and, after CHAIN_STUCK_SECONDS, replace the version at the same nonce
  with both fee fields raised by at least 12.5%.

Besides the pass, the worker that broadcast a batch reads its receipts back at once
(`confirm_landed`), so a chain that mines at once does not wait for the next pass. Both apply a
receipt under the row's lock and skip a row already confirmed in that block; a batch of
successful receipts skips the rows another process holds. Each receipt is applied once.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from web3 import Web3

from blockchain.announcements import subjects_settled
from blockchain.chain.client import RpcError, get_web3, rpc_batch, rpc_call
from blockchain.chain.fees import FeeCapExceeded, Fees, bumped, suggest_fees
from blockchain.chain.signer import signer_for
from blockchain.models import AttemptStatus, ChainTransaction, TxAttempt, TxStatus
from blockchain.outbox.hooks import confirmed_logs, receipts_orphaned, rows_changed
from blockchain.outbox.metrics import (
    CONFIRMATION_LATENCY,
    FEES_PAID_WEI,
    GAS_USED,
    OUTBOX_REORGED,
    OUTBOX_REPLACEMENTS,
    OUTBOX_TRANSITIONS,
)
from blockchain.outbox.sender import (
    broadcast,
    call_params,
    decode_revert,
    mark_failed,
    receipts_of,
    sign_into,
)
from blockchain.state import remember_head, remember_signer_balances
from core.bulk import bulk_set
from core.collector import paused_gc
from core.log_format import describe_error

logger = logging.getLogger(__name__)


@dataclass
class ConfirmReport:
    checked: int = 0
    mined: int = 0
    confirmed: int = 0
    failed: int = 0
    reorged: int = 0
    rebroadcast: int = 0
    replaced: int = 0
    head: int | None = None
    errors: list[str] = field(default_factory=list)


def _watched_rows(head: int) -> list[ChainTransaction]:
    window_start = max(0, head - settings.OUTBOX_REORG_WATCH_BLOCKS)
    return list(
        ChainTransaction.objects.filter(chain_id=settings.CHAIN_ID)
        .filter(
            Q(status__in=[TxStatus.SENT, TxStatus.MINED])
            | Q(status=TxStatus.CONFIRMED, block_number__gte=window_start)
        )
        .order_by("id")
    )


def _still_in_question(rows: list[ChainTransaction], *, w3: Web3) -> list[ChainTransaction]:
    """In-flight rows, plus confirmed rows of the watch window whose block is no longer canonical.

    A confirmed row's block hash is checked against the chain (one header per distinct block);
    only when it changed are its receipts fetched again, to see where (or whether) it landed now.
    """
    confirmed = [r for r in rows if r.status == TxStatus.CONFIRMED]
    in_flight = [r for r in rows if r.status != TxStatus.CONFIRMED]
    if not confirmed:
        return in_flight
    numbers = sorted({r.block_number for r in confirmed})
    headers = rpc_batch(w3, [("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
    canonical = {
        n: (h.get("hash") if isinstance(h, dict) else None) for n, h in zip(numbers, headers, strict=True)
    }
    return in_flight + [r for r in confirmed if canonical.get(r.block_number) != r.block_hash]


def confirm_pending(*, w3: Web3 | None = None) -> ConfirmReport:
    """One confirmer pass (the module's docstring says what it does)."""
    with paused_gc():  # a pass allocates thousands of acyclic objects (core.collector)
        return _confirm_pass(w3 or get_web3())


def _confirm_pass(w3: Web3) -> ConfirmReport:
    report = ConfirmReport()
    head = w3.eth.block_number
    report.head = head
    remember_head(head)
    remember_signer_balances(w3)
    rows = _still_in_question(_watched_rows(head), w3=w3)
    report.checked = len(rows)
    if not rows:
        return report
    attempts: dict[int, list[TxAttempt]] = {}
    for attempt in TxAttempt.objects.filter(transaction__id__anyof=[row.pk for row in rows]).exclude(
        status=AttemptStatus.DROPPED
    ):
        attempts.setdefault(attempt.transaction_id, []).append(attempt)
    hashes = [a.tx_hash for row in rows for a in attempts.get(row.pk, [])]
    receipts = dict(zip(hashes, receipts_of(w3, hashes), strict=True))
    stale_to_rebroadcast: list[ChainTransaction] = []
    landed_items: list[tuple[ChainTransaction, TxAttempt, dict]] = []
    for row in rows:
        row_attempts = attempts.get(row.pk, [])
        landed = [(a, receipts[a.tx_hash]) for a in row_attempts if isinstance(receipts.get(a.tx_hash), dict)]
        try:
            if landed:
                attempt, receipt = landed[0]
                if not (row.status == TxStatus.CONFIRMED and row.block_hash == receipt["blockHash"]):
                    landed_items.append((row, attempt, receipt))
            elif row.status in (TxStatus.MINED, TxStatus.CONFIRMED):
                _reorged(row, report=report)
                stale_to_rebroadcast.append(row)
            elif _needs_replacement(row, row_attempts):
                if _replace(row, row_attempts, w3=w3, report=report):
                    stale_to_rebroadcast.append(ChainTransaction.objects.get(pk=row.pk))
            elif _needs_rebroadcast(row_attempts):
                stale_to_rebroadcast.append(row)
        except Exception as exc:  # one bad row must not stop the others; it is retried next pass
            logger.exception("confirming outbox row %s failed", row.pk)
            report.errors.append(f"row {row.pk}: {describe_error(exc)}")
    _apply_receipts(landed_items, head=head, w3=w3, report=report)
    rows_changed([row for row, _attempt, _receipt in landed_items])
    if stale_to_rebroadcast:
        report.rebroadcast += len(stale_to_rebroadcast)
        for row in stale_to_rebroadcast:
            row.refresh_from_db()
        broadcast([r for r in stale_to_rebroadcast if r.status in (TxStatus.SIGNED, TxStatus.SENT)], w3=w3)
    return report


# A batch the node is mining (some of its receipts are there, some not yet) is looked at again, this
# many times in all, this far apart: the rest lands within moments. A batch with no receipt at all
# (a chain with seconds between blocks) is left to the pass at once.
READ_BACK_ROUNDS = 3
READ_BACK_PAUSE_SECONDS = 0.05


def confirm_landed(rows: list[ChainTransaction], *, w3: Web3 | None = None) -> ConfirmReport:
    """Apply the receipts that exist for `rows`, which the node has just accepted from the sender.

    On a chain that mines at once (anvil, Hardhat, a fast L2) a batch lands while or just after its
    broadcast returns: the worker that sent it applies those receipts itself, in parallel with the
    other lanes' workers, instead of leaving them all to the next pass of the one confirmer. The
    same code applies them as in the pass: successful receipts as a batch, rows another process
    holds skipped (`SKIP LOCKED`); a reverted one row by row, its revert named and its failure
    hook run. While receipts keep arriving it looks again for the rest (READ_BACK_ROUNDS); rows
    still without one, and everything about stuck, replaced or reorged rows, stay the pass's.
    The head is taken as the newest block among the receipts, a lower bound of the chain's, so no
    row is confirmed early: with CHAIN_CONFIRMATIONS > 0 only rows that deep below the newest
    receipt are confirmed here, the rest are `mined` and the pass confirms them."""
    w3 = w3 or get_web3()
    report = ConfirmReport()
    waiting = [row for row in rows if row.tx_hash]
    report.checked = len(waiting)
    for round_ in range(READ_BACK_ROUNDS):
        if round_:
            time.sleep(READ_BACK_PAUSE_SECONDS)  # the node is mining the rest of the batch
        results = receipts_of(w3, [row.tx_hash for row in waiting])
        landed = [
            (row, r)
            for row, r in zip(waiting, results, strict=True)
            if isinstance(r, dict) and r.get("blockHash")
        ]
        if not landed:
            break  # the node is not mining this batch right now: the pass follows it
        attempts = {  # a dropped version (its row re-queued) is not this row's any more
            a.tx_hash: a
            for a in TxAttempt.objects.filter(tx_hash__anyof=[row.tx_hash for row, _r in landed]).exclude(
                status=AttemptStatus.DROPPED
            )
        }
        items = [(row, attempts[row.tx_hash], r) for row, r in landed if row.tx_hash in attempts]
        report.head = max(report.head or 0, *(int(r["blockNumber"], 16) for _row, r in landed))
        _apply_receipts(items, head=report.head, w3=w3, report=report)
        rows_changed([row for row, _attempt, _receipt in items])
        done = {row.pk for row, _r in landed}
        waiting = [row for row in waiting if row.pk not in done]
        if not waiting:
            break
    return report


# What a receipt sets on its row; the version fields too when another version than the stored one
# landed (a replacement).
RECEIPT_FIELDS = [
    "status",
    "block_number",
    "block_hash",
    "gas_used",
    "effective_gas_price",
    "mined_at",
    "confirmed_at",
    "updated_at",
]
# What the confirmer reads again under the row lock before applying a receipt: what the sender,
# a replacement or an operator's action may have changed since the pass read the row, and what
# _advance decides from.
LOCKED_FIELDS = ("status", "tx_hash", "block_number", "block_hash", "mined_at", "confirmed_at")
ROW_FIELDS_SET_BY_RECEIPT = [
    *RECEIPT_FIELDS,
    "tx_hash",
    "raw_tx",
    "nonce",
    "gas_limit",
    "max_fee_per_gas",
    "max_priority_fee_per_gas",
]


@dataclass
class _LandedMetrics:
    """What _advance observed, published once its DB transaction has committed: a batch that rolls
    back is applied again row by row, and its rows would otherwise be counted twice."""

    mined: int = 0
    confirmed: int = 0
    gas: list[tuple[str, str, int]] = field(default_factory=list)
    fees_wei: int = 0
    latencies: list[float] = field(default_factory=list)

    def publish(self) -> None:
        if self.mined:
            OUTBOX_TRANSITIONS.labels(TxStatus.MINED).inc(self.mined)
        if self.confirmed:
            OUTBOX_TRANSITIONS.labels(TxStatus.CONFIRMED).inc(self.confirmed)
        for contract, function, gas in self.gas:
            GAS_USED.labels(contract, function).inc(gas)
        if self.fees_wei:
            FEES_PAID_WEI.inc(self.fees_wei)
        for seconds in self.latencies:
            CONFIRMATION_LATENCY.observe(seconds)


def _advance(
    locked: ChainTransaction,
    attempt: TxAttempt,
    receipt: dict,
    *,
    head: int,
    now,
    report: ConfirmReport,
    metrics: _LandedMetrics,
) -> bool:
    """Move a locked row to what its successful receipt says (in memory). True when now confirmed."""
    block_number = int(receipt["blockNumber"], 16)
    first_sighting = locked.status in (TxStatus.SIGNED, TxStatus.SENT)
    locked.tx_hash = attempt.tx_hash
    locked.raw_tx = attempt.raw_tx
    locked.nonce = attempt.nonce
    locked.gas_limit = attempt.gas_limit
    locked.max_fee_per_gas = attempt.max_fee_per_gas
    locked.max_priority_fee_per_gas = attempt.max_priority_fee_per_gas
    locked.block_number = block_number
    locked.block_hash = receipt["blockHash"]
    locked.gas_used = int(receipt["gasUsed"], 16)
    locked.effective_gas_price = int(receipt.get("effectiveGasPrice") or "0x0", 16)
    locked.updated_at = now
    if first_sighting or locked.status == TxStatus.CONFIRMED:  # new, or re-mined elsewhere after a reorg
        locked.status = TxStatus.MINED
        locked.mined_at = locked.mined_at or now
        locked.confirmed_at = None
        report.mined += 1
        metrics.mined += 1
        if first_sighting:
            metrics.gas.append((locked.contract_name or "-", locked.function or "-", locked.gas_used))
            metrics.fees_wei += locked.gas_used * locked.effective_gas_price
    if head - block_number < settings.CHAIN_CONFIRMATIONS:
        return False
    locked.status = TxStatus.CONFIRMED
    locked.confirmed_at = now
    report.confirmed += 1
    metrics.confirmed += 1
    metrics.latencies.append((now - locked.created_at).total_seconds())
    return True


def _settled(locked: ChainTransaction, receipt: dict) -> bool:
    """Has the locked row nothing left to take from this receipt? Failed, back in the queue, or
    already confirmed in this receipt's block (by the sender's read-back or another pass)."""
    if locked.status in (TxStatus.FAILED, TxStatus.QUEUED):
        return True
    return locked.status == TxStatus.CONFIRMED and locked.block_hash == receipt["blockHash"]


def _moved(row: ChainTransaction, receipt: dict) -> bool:
    """A row confirmed in one block whose receipt now names another (re-mined after a reorg)."""
    return (
        row.status == TxStatus.CONFIRMED and bool(row.block_hash) and row.block_hash != receipt["blockHash"]
    )


def _settle_attempts(landed: list[TxAttempt]) -> None:
    """The landed version of each row is mined; every other live version of it was replaced."""
    landed_ids = [a.pk for a in landed]
    TxAttempt.objects.filter(pk__anyof=landed_ids).update(status=AttemptStatus.MINED)
    TxAttempt.objects.filter(transaction__id__anyof=[a.transaction_id for a in landed]).exclude(
        pk__anyof=landed_ids
    ).exclude(status=AttemptStatus.DROPPED).update(status=AttemptStatus.REPLACED)


def _apply_receipts(
    items: list[tuple[ChainTransaction, TxAttempt, dict]],
    *,
    head: int,
    w3: Web3,
    report: ConfirmReport,
) -> None:
    """Apply successful receipts in one DB transaction (rows, attempts, events, handlers); reverted
    ones, and every row of a batch that raised, one at a time so one bad row cannot block the rest."""
    succeeded = [item for item in items if int(item[2]["status"], 16) == 1]
    singles = [item for item in items if int(item[2]["status"], 16) != 1]
    if succeeded:
        batch_report = ConfirmReport()
        metrics = _LandedMetrics()
        try:
            with transaction.atomic():
                now = timezone.now()
                # Lock the rows and read again only what another process may have changed since
                # the pass read them (the rest of a row is fixed once signed, or not written here).
                # A row another process holds is left to it (a sender's read-back applying the same
                # receipt, a replacement): skipped like a deleted one, and seen again next pass.
                locked = {
                    pk: rest
                    for pk, *rest in ChainTransaction.objects.select_for_update(skip_locked=True)
                    .filter(pk__anyof=[row.pk for row, _a, _r in succeeded])
                    .order_by("pk")  # every locker takes rows in id order
                    .values_list("pk", *LOCKED_FIELDS)
                }
                changed, same_version, switched, logs, landed = [], [], [], [], []
                orphaned = []
                for current, attempt, receipt in succeeded:
                    if current.pk not in locked:
                        continue  # held by another process, or deleted meanwhile (an operator's cleanup)
                    for name, value in zip(LOCKED_FIELDS, locked[current.pk], strict=True):
                        setattr(current, name, value)
                    if _settled(current, receipt):
                        continue
                    if _moved(current, receipt):
                        orphaned.append((current.tx_hash, current.block_hash))
                    (same_version if current.tx_hash == attempt.tx_hash else switched).append(current)
                    if _advance(
                        current, attempt, receipt, head=head, now=now, report=batch_report, metrics=metrics
                    ):
                        logs.append((current.pk, receipt.get("logs", [])))
                    changed.append(current)
                    landed.append(attempt)
                receipts_orphaned(orphaned)  # first: the new block's events then project on top
                # The row's stored version landed (nearly always): its signed fields are as stored.
                bulk_set(ChainTransaction, same_version, RECEIPT_FIELDS)
                bulk_set(ChainTransaction, switched, ROW_FIELDS_SET_BY_RECEIPT)
                _settle_attempts(landed)
                confirmed_logs(logs)
                subjects_settled(changed)  # webhooks: statuses that waited for the confirmation
            metrics.publish()
            report.mined += batch_report.mined
            report.confirmed += batch_report.confirmed
        except Exception:
            logger.exception(
                "applying %d receipts as a batch failed; applying them one by one", len(succeeded)
            )
            singles.extend(succeeded)
    for row, attempt, receipt in singles:
        try:
            _apply_receipt(row, attempt, receipt, head=head, w3=w3, report=report)
        except Exception as exc:  # retried next pass
            logger.exception("confirming outbox row %s failed", row.pk)
            report.errors.append(f"row {row.pk}: {describe_error(exc)}")


def _apply_receipt(
    row: ChainTransaction,
    attempt: TxAttempt,
    receipt: dict,
    *,
    head: int,
    w3: Web3,
    report: ConfirmReport,
) -> None:
    """One receipt in a DB transaction of its own: a reverted one (its revert named from the node's
    tracers, the intent's failure hook run), or one of a batch that could not be applied whole."""
    metrics = _LandedMetrics()
    with transaction.atomic():
        locked = ChainTransaction.objects.select_for_update().get(pk=row.pk)
        if _settled(locked, receipt):
            return
        now = timezone.now()
        if _moved(locked, receipt):
            receipts_orphaned([(locked.tx_hash, locked.block_hash)])
        if int(receipt["status"], 16) != 1:
            _advance(locked, attempt, receipt, head=head, now=now, report=ConfirmReport(), metrics=metrics)
            locked.status = TxStatus.MINED
            locked.confirmed_at = None
            locked.save()
            _settle_attempts([attempt])
            decoded = _revert_reason(locked, locked.block_number, w3=w3)
            mark_failed(locked, code=decoded["name"], error=decoded, note="reverted on chain")
            report.failed += 1
        else:
            confirmed = _advance(locked, attempt, receipt, head=head, now=now, report=report, metrics=metrics)
            locked.save()
            _settle_attempts([attempt])
            if confirmed:
                confirmed_logs([(locked.pk, receipt.get("logs", []))])
                subjects_settled([locked])
    metrics.publish()


# The default (struct-log) tracer with everything optional left out: its `returnValue` is the revert
# data, on nodes without the call tracer (Hardhat only has this one).
_STRUCT_LOG_LEAN = {"disableStorage": True, "disableMemory": True, "disableStack": True}


def _traced_revert_data(row: ChainTransaction, *, w3: Web3) -> str | None:
    """The exact revert data of a mined transaction from the node's tracers, or None.

    The call tracer (anvil, geth) answers `output`; a node without it (Hardhat: "only supports the
    default tracer") is asked for the default trace, whose `returnValue` holds the same bytes
    (Hardhat writes it without 0x).
    """
    with contextlib.suppress(Exception):  # no debug API, or no call tracer: try the next way
        trace = rpc_call(w3, "debug_traceTransaction", [row.tx_hash, {"tracer": "callTracer"}])
        output = (trace or {}).get("output")
        if isinstance(output, str) and len(output) >= 10:
            return output
        if trace:
            return None  # a call trace with no revert data: the tracer works, there is none to find
    with contextlib.suppress(Exception):
        trace = rpc_call(w3, "debug_traceTransaction", [row.tx_hash, _STRUCT_LOG_LEAN])
        value = (trace or {}).get("returnValue") if (trace or {}).get("failed") else None
        if isinstance(value, str):
            value = value if value.startswith("0x") else "0x" + value
            if len(value) >= 10:
                return value
    return None


def _revert_reason(row: ChainTransaction, block_number: int, *, w3: Web3) -> dict:
    """Name the custom error a mined transaction reverted with.

    The exact revert data comes from the node's tracers (the call tracer of anvil and geth with the
    debug API, or the default tracer of Hardhat). Without them, the call is replayed on the state
    before its block and, failing that, after it (where an earlier transaction of the same block,
    e.g. a duplicate, has taken effect).
    """
    if row.gas_used and row.gas_limit and row.gas_used >= row.gas_limit:
        return {"name": "OutOfGas", "args": {"gas_limit": row.gas_limit}}
    output = _traced_revert_data(row, w3=w3)
    if output:
        decoded = decode_revert(row, RpcError("trace", {"message": "reverted", "data": output}))
        return {"name": decoded.name, "args": decoded.args}
    params = call_params(row, row.signer)
    params["gas"] = hex(row.gas_limit or 0)
    for block in (max(block_number - 1, 0), block_number):
        try:
            rpc_call(w3, "eth_call", [params, hex(block)])
        except RpcError as exc:
            decoded = decode_revert(row, exc)
            return {"name": decoded.name, "args": decoded.args}
        except Exception as exc:  # the node could not replay it; the row still failed on chain
            return {"name": "Reverted", "args": {"replay_error": str(exc)[:300]}}
    return {"name": "Reverted", "args": {}}


def _reorged(row: ChainTransaction, *, report: ConfirmReport) -> None:
    with transaction.atomic():
        locked = ChainTransaction.objects.select_for_update().get(pk=row.pk)
        if locked.status not in (TxStatus.MINED, TxStatus.CONFIRMED):
            return
        logger.warning(
            "outbox row %s: receipt for %s disappeared (reorg); re-broadcasting", row.pk, row.tx_hash
        )
        if locked.block_hash:
            receipts_orphaned([(locked.tx_hash, locked.block_hash)])
        locked.status = TxStatus.SENT
        locked.block_number = None
        locked.block_hash = ""
        locked.mined_at = None
        locked.confirmed_at = None
        locked.save()
        TxAttempt.objects.filter(transaction=locked).exclude(status=AttemptStatus.DROPPED).update(
            status=AttemptStatus.PENDING
        )
        subjects_settled([locked])  # back in flight: what followed its confirmation is undone
    report.reorged += 1
    OUTBOX_REORGED.inc()


def _last_broadcast(row_attempts: list[TxAttempt]):
    times = [a.broadcast_at or a.created_at for a in row_attempts]
    return max(times) if times else None


def _needs_rebroadcast(row_attempts: list[TxAttempt]) -> bool:
    last = _last_broadcast(row_attempts)
    return last is not None and timezone.now() - last >= timedelta(
        seconds=settings.OUTBOX_REBROADCAST_SECONDS
    )


def _needs_replacement(row: ChainTransaction, row_attempts: list[TxAttempt]) -> bool:
    if row.status != TxStatus.SENT or not row_attempts:
        return False
    newest = max(row_attempts, key=lambda a: a.id)
    # From the version's first broadcast: its re-broadcasts (every OUTBOX_REBROADCAST_SECONDS, far
    # sooner than CHAIN_STUCK_SECONDS) would otherwise restart the clock, and a version the chain
    # will not take (its fee too low, or the node keeping it unmined) was never replaced.
    started = newest.first_broadcast_at or newest.created_at
    return timezone.now() - started >= timedelta(seconds=settings.CHAIN_STUCK_SECONDS)


def _replace(
    row: ChainTransaction, row_attempts: list[TxAttempt], *, w3: Web3, report: ConfirmReport
) -> bool:
    """Sign a new version at the same nonce with both fees raised >= 12.5% (and at least today's)."""
    newest = max(row_attempts, key=lambda a: a.id)
    previous = Fees(newest.max_fee_per_gas, newest.max_priority_fee_per_gas)
    try:
        fees = bumped(previous, floor=suggest_fees(w3))
    except FeeCapExceeded as exc:
        ChainTransaction.objects.filter(pk=row.pk).update(last_error=f"not replaced: {exc}"[:1000])
        return False
    with transaction.atomic():
        locked = ChainTransaction.objects.select_for_update().get(pk=row.pk)
        if locked.status != TxStatus.SENT:
            return False
        attempt = sign_into(
            locked,
            signer=signer_for(locked.signer),  # the row's own lane: same signer, same nonce
            nonce=newest.nonce,
            gas=newest.gas_limit,
            fees=fees,
            chain_id=locked.chain_id,
        )
        attempt.save()
        locked.status = TxStatus.SIGNED  # broadcast() moves it back to sent
        locked.last_error = f"replaced stuck version {newest.tx_hash}"
        locked.save()
    logger.warning(
        "outbox row %s stuck; replaced %s with %s at nonce %s",
        row.pk,
        newest.tx_hash,
        attempt.tx_hash,
        newest.nonce,
    )
    report.replaced += 1
    OUTBOX_REPLACEMENTS.inc()
    return True
