"""Celery tasks of the read path: the beat indexer run and the hourly reconcile."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from blockchain.chain.client import TRANSIENT_ERRORS
from core.locks import single_instance

logger = logging.getLogger(__name__)


@shared_task(name="blockchain.indexing.tasks.index_chain_events", ignore_result=True)
def index_chain_events() -> dict | None:
    """One indexer run (beat); skipped while `poll_blockchain` or another run holds the lock."""
    from blockchain.indexing.indexer import INDEXER_LOCK, Indexer
    from core.locks import held_lock

    with held_lock(INDEXER_LOCK, ttl=settings.INDEXER_LOCK_TTL, heartbeat=True) as lock:
        if lock is None:
            return None
        try:
            report = Indexer().run(max_seconds=settings.INDEXER_RUN_SECONDS)
        except TRANSIENT_ERRORS as exc:
            logger.warning("indexer: chain unreachable (%s); next run retries", exc)
            Indexer.record_failure(exc)
            return None
        except Exception as exc:  # a bug or a failed rewind: visible in the sync status and /healthz
            Indexer.record_failure(exc)
            raise
        return {"head": report.head, "to_block": report.to_block, "events": report.events}


@shared_task(name="blockchain.indexing.tasks.reconcile_chain", ignore_result=True)
@single_instance("blockchain:reconcile-chain", ttl=3600)
def reconcile_chain() -> dict | None:
    """Compare the cache with the chain and store the drift report (hourly)."""
    from blockchain.indexing.reconcile import run_reconcile

    try:
        report = run_reconcile()
    except TRANSIENT_ERRORS as exc:
        logger.warning("reconcile: chain unreachable (%s)", exc)
        return None
    return {"checked": report.checked, "drift": report.drift_count}
