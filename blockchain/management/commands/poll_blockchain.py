import logging
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from blockchain.indexing.poller import poll_forever

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
        poll_forever(interval=interval, stop=stop, once=once)
