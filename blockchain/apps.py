import sys

from django.apps import AppConfig

PYTHON_RECURSION_LIMIT = 1000  # CPython's default


class BlockchainConfig(AppConfig):
    name = "blockchain"
    verbose_name = "Blockchain"

    def ready(self) -> None:
        # eth_account loads py_ecc (through eth_keyfile), which raises the recursion limit to 100,000.
        # With that limit, json.loads of a request body of ~100,000 nested brackets (200 kB)
        # overflows the C stack and kills the process, where it should raise RecursionError. Load
        # them now and put the default back.
        import eth_account  # noqa: F401

        sys.setrecursionlimit(PYTHON_RECURSION_LIMIT)

        from blockchain.indexing import tasks as indexing_tasks  # noqa: F401 - Celery tasks
        from blockchain.indexing.events import ingest_receipt_logs, orphan_receipt_events
        from blockchain.outbox import tasks as outbox_tasks  # noqa: F401 - Celery tasks
        from blockchain.outbox.hooks import observe_confirmed_logs, observe_orphaned_receipts
        from blockchain.outbox.metrics import OutboxCollector
        from core.metrics import register_scrape_time_collector

        # The receipt path hands confirmed logs to the indexing side (the outbox does not import it).
        observe_confirmed_logs(ingest_receipt_logs)
        observe_orphaned_receipts(orphan_receipt_events)
        register_scrape_time_collector(OutboxCollector())
