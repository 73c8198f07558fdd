"""The production poller: the indexer in a loop, one holder at a time (Redis lock), backing off on
failures (RPC outage, DB restart) and stopping cleanly on request."""

from __future__ import annotations

import contextlib
import logging
import threading

from django.conf import settings

from blockchain.indexing.indexer import INDEXER_LOCK, Indexer
from core.locks import Heartbeat, acquire_lock

logger = logging.getLogger("blockchain.poller")


def poll_forever(*, interval: float, stop: threading.Event, once: bool = False) -> None:
    """Index every `interval` seconds until `stop` is set (or after one run with `once`). The lock is
    short and renewed by a heartbeat while this process lives: killed, it is replaced within one TTL."""
    ttl = settings.INDEXER_LOCK_TTL
    lock = None
    heartbeat: Heartbeat | None = None
    backoff = 0.0
    indexer: Indexer | None = None
    last_lag = None
    try:
        while not stop.is_set():
            if lock is None or (heartbeat is not None and heartbeat.lost):
                if heartbeat is not None:
                    logger.warning("poller: lost the indexer lock; re-acquiring")
                    heartbeat.stop()
                    heartbeat = None
                lock = acquire_lock(INDEXER_LOCK, ttl=ttl)
                if lock is None:
                    logger.info("poller: another indexer holds the lock; waiting")
                    stop.wait(interval)
                    continue
                heartbeat = Heartbeat(lock, ttl=ttl, name=INDEXER_LOCK).start()
            try:
                indexer = indexer or Indexer()
                report = indexer.run(max_seconds=settings.INDEXER_RUN_SECONDS)
                backoff = 0.0
                lag = indexer.state.lag_blocks
                if report.events or report.reorg_fork is not None or lag != last_lag:
                    logger.info(
                        "poller: head %s, indexed %s (lag %s), %d events, reorg %s",
                        report.head,
                        indexer.state.indexed_block,
                        lag,
                        report.events,
                        report.reorg_fork,
                    )
                last_lag = lag
            except Exception as exc:  # RPC outage, DB restart: back off and carry on
                backoff = min(max(backoff * 2, 1.0), 30.0)
                indexer = None  # a fresh connection and state next time
                with contextlib.suppress(Exception):  # the DB may be what failed
                    Indexer.record_failure(exc)
                logger.warning(
                    "poller: run failed (%s: %s); retrying in %.0fs", type(exc).__name__, exc, backoff
                )
                stop.wait(backoff)
                continue
            if once:
                break
            stop.wait(interval)
    finally:
        if heartbeat is not None:
            heartbeat.stop()
        if lock is not None:
            lock.release()
    logger.info("poller: stopped")
