"""`rebuild_from_chain`: drop every chain-derived row and replay the logs from the deployment blocks.

The outbox (the platform's intents) is kept; nothing here enqueues or signs.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.db import transaction

from blockchain.indexing.indexer import INDEXER_LOCK, Indexer, IndexReport
from blockchain.indexing.registry import after_rebuild_hooks, rebuild_hooks
from blockchain.models import ChainEvent, ChainSyncState, IndexedBlock, WatchedContract
from core.locks import held_lock
from webhooks.announcers import refresh_everything
from webhooks.services import suppressed


class IndexerBusy(RuntimeError):
    """Another indexer (the poller or the beat task) holds the lock."""


def clear_chain_derived(*, chain_id: int, say: Callable[[str], None] = lambda _line: None) -> int:
    """Every app's chain-derived rows (their rebuild hooks), the event store, cursors and block
    hashes, in one transaction. Returns how many events were deleted."""
    with transaction.atomic():
        for name, hook in rebuild_hooks().items():
            say(f"clearing {name}")
            hook()
        deleted, _ = ChainEvent.objects.filter(chain_id=chain_id).delete()
        IndexedBlock.objects.filter(chain_id=chain_id).delete()
        WatchedContract.objects.filter(chain_id=chain_id, deployment__isnull=True).delete()
        WatchedContract.objects.filter(chain_id=chain_id).update(next_block=None)
        ChainSyncState.objects.filter(chain_id=chain_id).update(indexed_block=None)
    return deleted


def rebuild_from_chain(
    *,
    say: Callable[[str], None] = lambda _line: None,
    progress_factory: Callable[[int, int], Callable[[IndexReport], None]] | None = None,
) -> IndexReport:
    """Clear, then index from the earliest deployment block to the head. `progress_factory(start,
    head)` returns a per-run progress callback (the command's progress bar)."""
    probe = Indexer()
    with held_lock(INDEXER_LOCK, ttl=settings.INDEXER_LOCK_TTL, wait=30, heartbeat=True) as lock:
        if lock is None:
            raise IndexerBusy("the indexer is running (poll_blockchain or the beat task): stop it first")
        deleted = clear_chain_derived(chain_id=probe.chain_id, say=say)
        say(f"deleted {deleted} cached events; replaying from the deployment blocks")
        indexer = Indexer(defer_projections=True)
        head = indexer.w3.eth.block_number
        start = min(
            (w.start_block for w in WatchedContract.objects.filter(chain_id=probe.chain_id, active=True)),
            default=0,
        )
        report_progress = progress_factory(start, head) if progress_factory else None

        # Partners hear what the rebuild changed, not the cleared state it passed through.
        with suppressed():
            report = indexer.run(progress=report_progress)
            with transaction.atomic():
                for name, settle in after_rebuild_hooks().items():
                    say(f"settling {name}")
                    settle()
        announced = refresh_everything()
        if announced:
            say(f"announced {announced} changes to webhook endpoints")
        return report
