"""Drift between the cache and the chain: the events cache against a fresh read of the logs, and
every domain's own check (registered with `blockchain.indexing.registry.register_reconciler`)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from web3 import Web3

from blockchain.announcements import drift_found
from blockchain.chain.client import get_web3, rpc_call
from blockchain.indexing.events import WatchedAddresses, decode_logs, event_from_row
from blockchain.indexing.registry import Drift, ReconcileResult, project_touched, projected_kinds, reconcilers
from blockchain.models import ChainEvent, ChainSyncState, ReconcileReport, WatchedContract

logger = logging.getLogger(__name__)

MAX_DRIFT_DETAILS = 200


def reconcile_events(w3: Web3, *, chain_id: int) -> ReconcileResult:
    """Every live cached event of the indexed range is on chain, and every chain log is cached."""
    result = ReconcileResult()
    state = ChainSyncState.objects.filter(chain_id=chain_id).first()
    watched = list(WatchedContract.objects.filter(chain_id=chain_id, active=True))
    if state is None or state.indexed_block is None or not watched:
        return result
    end = state.indexed_block
    addresses = WatchedAddresses(chain_id)
    chain_keys: set[tuple[str, int, str]] = set()
    start = min(w.start_block for w in watched)
    step = settings.INDEXER_MAX_RANGE
    for low in range(start, end + 1, step):
        high = min(low + step - 1, end)
        logs = rpc_call(
            w3,
            "eth_getLogs",
            [{"fromBlock": hex(low), "toBlock": hex(high), "address": [w.address for w in watched]}],
        )
        chain_keys.update(
            (e.tx_hash, e.log_index, e.block_hash) for e in decode_logs(logs, watched=addresses)
        )
    cached_keys = set(
        ChainEvent.objects.filter(
            chain_id=chain_id, removed=False, block_number__gte=start, block_number__lte=end
        ).values_list("tx_hash", "log_index", "block_hash")
    )
    result.checked = len(chain_keys | cached_keys)
    for key in sorted(chain_keys - cached_keys):
        result.drift.append(Drift("events", f"{key[0]}:{key[1]}", cache=None, chain=key[2]))
    for key in sorted(cached_keys - chain_keys):
        result.drift.append(Drift("events", f"{key[0]}:{key[1]}", cache=key[2], chain=None))
    return result


def run_reconcile(*, w3: Web3 | None = None, only: tuple[str, ...] | None = None) -> ReconcileReport:
    """Run every check (or the named ones) and store the report (admin, `/api/blockchain/sync/`)."""
    w3 = w3 or get_web3()
    chain_id = settings.CHAIN_ID
    started = timezone.now()
    checks = {"events": lambda w: reconcile_events(w, chain_id=chain_id), **reconcilers()}
    if only is not None:
        checks = {name: check for name, check in checks.items() if name in only}
    checked = 0
    drift: list[Drift] = []
    for name, check in checks.items():
        result = check(w3)
        checked += result.checked
        drift.extend(result.drift)
        logger.info("reconcile %s: %d checked, %d drift", name, result.checked, len(result.drift))
    with transaction.atomic():
        report = ReconcileReport.objects.create(
            chain_id=chain_id,
            started_at=started,
            finished_at=timezone.now(),
            checked=checked,
            drift_count=len(drift),
            drift=[
                {"check": d.check, "key": d.key, "cache": _jsonable(d.cache), "chain": _jsonable(d.chain)}
                for d in drift[:MAX_DRIFT_DETAILS]
            ],
        )
        drift_found(report)  # webhooks: reconcile.drift
    return report


def reproject_all(*, chain_id: int | None = None, chunk: int = 5000) -> int:
    """`reconcile --fix`: every entity any stored event touched (surviving or orphaned) is projected
    again from the surviving events, in one transaction. Reads the database only: nothing is sent.
    Returns the events whose entities were projected."""
    chain_id = chain_id or settings.CHAIN_ID
    kinds = projected_kinds()
    done = 0
    with transaction.atomic():
        rows = ChainEvent.objects.filter(chain_id=chain_id)
        last = 0
        while True:
            batch = list(rows.filter(pk__gt=last).order_by("pk")[:chunk])
            if not batch:
                break
            last = batch[-1].pk
            events = [event_from_row(row) for row in batch if (row.artifact, row.event_name) in kinds]
            project_touched(events)
            done += len(events)
    return done


def _jsonable(value):
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, int) and abs(value) >= 2**53:
        return str(value)
    return value
