"""The indexer: chain logs of every watched contract into ChainEvent rows and domain projections.

One run (beat task `index_chain_events` or `manage.py poll_blockchain`, never both at once: they
share one lock):
1. reorg check: the stored hashes of the unconfirmed window are compared with the chain; from the
   first block after the last one that still matches, events are marked removed, the entities
   they touched are projected again from the surviving events, and the cursors rewind;
2. ranges from the lowest cursor to the head, one `eth_getLogs` per range over every watched
   address, the range growing while calls are fast and halving on errors;
3. raw JSON logs decoded from their hex, bulk-inserted (re-ingestion is a no-op, an orphaned log
   that is back is live again), the entities they touch projected; stored live events of the range
   that the chain no longer has are removed (a reorg the window check could not see). A range with
   no stored row yet (a backfill) is copied straight into the table while it is decoded: nothing
   to conflict with, nothing that can have vanished;
4. contracts created in the range (Campaign clones) are caught up from their creation block
   before the cursors move on.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone
from web3 import Web3

from blockchain.announcements import reorg_detected
from blockchain.chain.client import RpcError, get_web3, rpc_batch, rpc_call
from blockchain.indexing.events import (
    WatchedAddresses,
    decode_logs,
    range_is_new,
    remove_events,
    store_events,
    store_new_range,
    with_block_times,
)
from blockchain.indexing.metrics import (
    INDEXER_EVENTS,
    INDEXER_HEAD,
    INDEXER_INDEXED_BLOCK,
    INDEXER_LAG,
    INDEXER_REORG_DEPTH,
    INDEXER_REORGS,
)
from blockchain.indexing.registry import DecodedEvent, project_keys, project_touched, run_hooks, touched_keys
from blockchain.models import ChainEvent, ChainSyncState, IndexedBlock, ReorgRecord, WatchedContract
from blockchain.state import remember_head
from core.collector import paused_gc
from core.log_format import describe_error

logger = logging.getLogger(__name__)

INDEXER_LOCK = "blockchain:indexer"
RANGE_TOO_LARGE = ("range", "too many", "limit exceeded", "query returned more than", "response size")


@dataclass
class IndexReport:
    head: int = 0
    from_block: int | None = None
    to_block: int | None = None
    ranges: int = 0
    events: int = 0
    removed: int = 0
    reorg_fork: int | None = None
    seconds: float = 0.0

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def _window_hashes(logs: list[dict], window_start: int) -> dict[int, str]:
    """Block number -> hash of the blocks from `window_start` on that the raw logs come from (the
    logs of a block come together: its number is read once)."""
    hashes: dict[int, str] = {}
    last = None
    number = -1
    for raw in logs:
        if raw.get("removed"):
            continue
        if raw["blockNumber"] != last:
            last = raw["blockNumber"]
            number = int(last, 16) if isinstance(last, str) else int(last)
        if number >= window_start:
            hashes[number] = raw["blockHash"]
    return hashes


def _cursor(w: WatchedContract) -> int:
    return w.next_block if w.next_block is not None else w.start_block


class Indexer:
    """Index one chain; keeps its adaptive range between runs (in ChainSyncState)."""

    def __init__(
        self, *, w3: Web3 | None = None, chain_id: int | None = None, defer_projections: bool = False
    ) -> None:
        """`defer_projections` (the rebuild's replay): entities are derived once, after the last
        range, from all the events, instead of after each range from the events so far (a
        half-replayed history would pass through states the constraints refuse, e.g. a finished
        campaign of a company looking in progress again until its finalization's range)."""
        self.w3 = w3 or get_web3()
        self.deferred: dict[str, set] | None = {} if defer_projections else None
        self.chain_id = chain_id or settings.CHAIN_ID
        self.state, _ = ChainSyncState.objects.get_or_create(chain_id=self.chain_id)
        self.range = self.state.range_size or settings.INDEXER_INITIAL_RANGE

    # -- one run ------------------------------------------------------------------------------------
    def run(
        self, *, max_seconds: float | None = None, progress: Callable[[IndexReport], None] | None = None
    ) -> IndexReport:
        started = time.perf_counter()
        report = IndexReport()
        head = self.w3.eth.block_number
        report.head = head
        for hook in run_hooks().values():  # e.g. the wallets app watches the configured ERC-20s
            hook(self.w3)
        fork = self.check_reorg(head)
        if fork is not None:
            report.reorg_fork = fork
            report.removed += self.rewind(fork, head=head)
        while True:
            watched = list(WatchedContract.objects.filter(chain_id=self.chain_id, active=True))
            if not watched:
                break
            start = min(_cursor(w) for w in watched)
            if start > head:
                break
            end = min(start + self.range - 1, head)
            included = [w for w in watched if _cursor(w) <= end]
            with paused_gc():  # parsing and applying a range's logs
                logs = self._get_logs(start, end, [w.address for w in included])
                if logs is None:
                    continue  # the range was halved; try again
                report.removed += self._apply_range(start, end, included, logs, head=head, report=report)
                del logs  # freed here, while the collector is off: nothing of it is cyclic
            report.ranges += 1
            report.from_block = start if report.from_block is None else report.from_block
            report.to_block = end
            if progress:
                progress(report)
            if max_seconds is not None and time.perf_counter() - started > max_seconds:
                break
        if self.deferred:
            with transaction.atomic():
                project_keys(self.deferred)
            self.deferred = {}
        self._save_state(head, report)
        report.seconds = time.perf_counter() - started
        return report

    def _project(self, events: list[DecodedEvent]) -> None:
        if self.deferred is None:
            project_touched(events)
        else:
            touched_keys(events, self.deferred)
            project_keys(self.deferred, structural_only=True)  # new clones are watched in this range

    # -- fetching -----------------------------------------------------------------------------------
    def _get_logs(self, start: int, end: int, addresses: list[str]) -> list[dict] | None:
        """Raw JSON logs of `addresses` in [start, end]; None after halving the range on an error."""
        began = time.perf_counter()
        try:
            logs = rpc_call(
                self.w3, "eth_getLogs", [{"fromBlock": hex(start), "toBlock": hex(end), "address": addresses}]
            )
        except RpcError as exc:
            if self.range > 1 and any(p in exc.message.lower() for p in RANGE_TOO_LARGE):
                self.range = max(1, self.range // 2)
                logger.info("indexer: %s; range halved to %d blocks", exc.message, self.range)
                return None
            raise
        except Exception:
            if self.range > 1:
                self.range = max(1, self.range // 2)
            raise
        elapsed = time.perf_counter() - began
        span = end - start + 1
        if span >= self.range and elapsed < settings.INDEXER_FAST_SECONDS:
            self.range = min(self.range * 2, settings.INDEXER_MAX_RANGE)  # fast: grow
        elif elapsed > settings.INDEXER_SLOW_SECONDS and self.range > 1:
            self.range = max(1, self.range // 2)  # slow: shrink before the node starts refusing
        return logs

    def _block_hashes(self, numbers: list[int]) -> dict[int, str | None]:
        results = rpc_batch(self.w3, [("eth_getBlockByNumber", [hex(n), False]) for n in numbers])
        return {
            n: (r.get("hash") if isinstance(r, dict) else None) for n, r in zip(numbers, results, strict=True)
        }

    # -- applying -----------------------------------------------------------------------------------
    def _apply_range(
        self,
        start: int,
        end: int,
        included: list[WatchedContract],
        logs: list[dict],
        *,
        head: int,
        report: IndexReport,
    ) -> int:
        watched = WatchedAddresses(self.chain_id)
        window_start = max(0, head - settings.INDEXER_REORG_WINDOW)
        hashes = _window_hashes(logs, window_start)
        if end >= window_start and end not in hashes:
            hashes.update(self._block_hashes([end]))
        removed = 0
        with transaction.atomic():
            # Nothing stored in these blocks yet (a backfill, a first run): every row of the range
            # is one the COPY inserts, so there is no conflict to resolve and none can have vanished.
            new = range_is_new(self.chain_id, start, end)
            if new:
                events, new = store_new_range(logs, watched=watched, w3=self.w3)
            else:
                events = with_block_times(decode_logs(logs, watched=watched), w3=self.w3)
                store_events(events)
            self._project(events)
            if not new:
                removed += self._drop_vanished(start, end, [w.address for w in included], events)
            # Contracts created in this range: their own logs from their creation block, now.
            known = {w.pk for w in included}
            while True:
                created = [
                    w
                    for w in WatchedContract.objects.filter(chain_id=self.chain_id, active=True).exclude(
                        pk__in=known
                    )
                    if _cursor(w) <= end
                ]
                if not created:
                    break
                known.update(w.pk for w in created)
                first = min(_cursor(w) for w in created)
                more = rpc_call(
                    self.w3,
                    "eth_getLogs",
                    [{"fromBlock": hex(first), "toBlock": hex(end), "address": [w.address for w in created]}],
                )
                more_events = with_block_times(decode_logs(more, watched=watched), w3=self.w3)
                store_events(more_events)
                self._project(more_events)
                events.extend(more_events)
                included.extend(created)
            WatchedContract.objects.filter(pk__in=[w.pk for w in included]).update(next_block=end + 1)
            IndexedBlock.objects.bulk_create(
                [IndexedBlock(chain_id=self.chain_id, number=n, hash=h) for n, h in hashes.items() if h],
                update_conflicts=True,
                unique_fields=["chain_id", "number"],
                update_fields=["hash", "seen_at"],
            )
            IndexedBlock.objects.filter(chain_id=self.chain_id, number__lt=window_start).delete()
        report.events += len(events)
        for (artifact, name), count in Counter((e.artifact, e.name) for e in events).items():
            INDEXER_EVENTS.labels(artifact, name).inc(count)
        return removed

    def _drop_vanished(self, start: int, end: int, addresses: list[str], fetched: list[DecodedEvent]) -> int:
        """Stored live events of these addresses in [start, end] the chain no longer has (the receipt
        path stored them from a block a reorg replaced before the indexer got there)."""
        keep = {(e.tx_hash, e.log_index, e.block_hash) for e in fetched}
        stored = ChainEvent.objects.filter(
            chain_id=self.chain_id,
            removed=False,
            block_number__gte=start,
            block_number__lte=end,
            contract_address__in=addresses,
        )
        if stored.count() == len(keep):
            return 0  # every fetched log is stored (just inserted), so nothing else can be
        stale_ids = [
            pk
            for pk, tx_hash, log_index, block_hash in stored.values_list(
                "pk", "tx_hash", "log_index", "block_hash"
            )
            if (tx_hash, log_index, block_hash) not in keep
        ]
        stale = list(ChainEvent.objects.filter(pk__in=stale_ids))
        if stale:
            logger.warning(
                "indexer: %d stored events in blocks %d..%d are not on chain any more", len(stale), start, end
            )
        return len(remove_events(stale))

    # -- reorgs -------------------------------------------------------------------------------------
    def check_reorg(self, head: int) -> int | None:
        """The first block to re-index when the chain changed under the stored window, else None."""
        stored = list(IndexedBlock.objects.filter(chain_id=self.chain_id).order_by("number"))
        if not stored:
            return None
        canonical = self._block_hashes([b.number for b in stored])
        last_good: int | None = None
        for block in stored:
            if canonical.get(block.number) == block.hash:
                last_good = block.number
                continue
            fork = (last_good + 1) if last_good is not None else stored[0].number
            logger.warning(
                "indexer: reorg detected at block %d (stored %s, chain %s); rewinding to %d",
                block.number,
                block.hash,
                canonical.get(block.number),
                fork,
            )
            return fork
        return None

    def rewind(self, fork: int, *, head: int) -> int:
        """Forget everything from block `fork` on; the next ranges re-index it from the chain."""
        with transaction.atomic():
            orphaned = list(
                ChainEvent.objects.select_for_update().filter(
                    chain_id=self.chain_id, removed=False, block_number__gte=fork
                )
            )
            removed = remove_events(orphaned)
            IndexedBlock.objects.filter(chain_id=self.chain_id, number__gte=fork).delete()
            WatchedContract.objects.filter(chain_id=self.chain_id).filter(Q(next_block__gt=fork)).update(
                next_block=fork
            )
            indexed = self.state.indexed_block or fork
            depth = max(1, indexed - fork + 1)
            reorg_detected(
                ReorgRecord.objects.create(
                    chain_id=self.chain_id, fork_block=fork, depth=depth, events_removed=len(removed)
                )
            )
            self.state.reorgs_detected += 1
            self.state.indexed_block = fork - 1 if fork > 0 else None
            self.state.save(update_fields=["reorgs_detected", "indexed_block"])
        INDEXER_REORGS.inc()
        INDEXER_REORG_DEPTH.observe(depth)
        return len(removed)

    # -- state --------------------------------------------------------------------------------------
    @staticmethod
    def record_failure(exc: BaseException, *, chain_id: int | None = None) -> None:
        """Keep why the last run failed (sync status, admin); the next good run clears it."""
        ChainSyncState.objects.filter(chain_id=chain_id or settings.CHAIN_ID).update(
            last_error=describe_error(exc)[:2000]
        )

    def _save_state(self, head: int, report: IndexReport) -> None:
        lowest = WatchedContract.objects.filter(chain_id=self.chain_id, active=True).aggregate(
            low=Min("next_block")
        )["low"]
        self.state.head = head
        self.state.indexed_block = (lowest - 1) if lowest else self.state.indexed_block
        self.state.range_size = self.range
        self.state.last_run_at = timezone.now()
        self.state.last_error = ""
        self.state.save()
        remember_head(head)
        INDEXER_HEAD.set(head)
        if self.state.indexed_block is not None:
            INDEXER_INDEXED_BLOCK.set(self.state.indexed_block)
            INDEXER_LAG.set(max(0, head - self.state.indexed_block))
