import contextlib
import logging
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from blockchain.indexer import INDEXER_LOCK, Indexer
from config.locks import acquire_lock

logger = logging.getLogger("blockchain.poller")


class Command(BaseCommand):
    help = "Run the chain indexer continuously (the production poller). SIGTERM/SIGINT stop it cleanly."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--interval", type=float, default=settings.CHAIN_POLL_SECONDS, help="seconds between runs"
        )
        parser.add_argument("--once", action="store_true", help="one run, then exit")

    def handle(self, *args, interval: float, once: bool, **opts) -> None:
        stop = threading.Event()

        def request_stop(signum, _frame) -> None:
            logger.info("poller: signal %s, stopping after the current run", signum)
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        ttl = settings.INDEXER_LOCK_TTL
        lock = None
        backoff = 0.0
        indexer: Indexer | None = None
        last_lag = None
        try:
            while not stop.is_set():
                if lock is None:
                    lock = acquire_lock(INDEXER_LOCK, ttl=ttl)
                    if lock is None:
                        logger.info("poller: another indexer holds the lock; waiting")
                        stop.wait(interval)
                        continue
                elif not lock.extend(ttl):
                    logger.warning("poller: lost the indexer lock; re-acquiring")
                    lock = None
                    continue
                try:
                    indexer = indexer or Indexer()
                    report = indexer.run(max_seconds=ttl / 2)
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
            if lock is not None:
                lock.release()
        logger.info("poller: stopped")
