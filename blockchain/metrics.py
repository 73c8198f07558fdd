"""Prometheus series for the chain side. Defined once, imported wherever they are updated."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

RPC_CALLS = Counter("chain_rpc_calls_total", "JSON-RPC calls made to the chain node", ["method"])
RPC_ERRORS = Counter("chain_rpc_errors_total", "JSON-RPC calls that raised or returned an error", ["method"])
RPC_LATENCY = Histogram(
    "chain_rpc_latency_seconds",
    "JSON-RPC call latency",
    ["method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

OUTBOX_TRANSITIONS = Counter("outbox_transitions_total", "Outbox rows entering a status", ["status"])
OUTBOX_FAILURES = Counter("outbox_failures_total", "Outbox rows failed, by decoded error", ["error"])
OUTBOX_REPLACEMENTS = Counter("outbox_replacements_total", "Stuck transactions replaced with bumped fees")
OUTBOX_REORGED = Counter("outbox_reorged_total", "Mined transactions whose receipt disappeared (reorg)")
GAS_USED = Counter("chain_gas_used_total", "Gas used by our mined transactions", ["contract", "function"])
FEES_PAID_WEI = Counter("chain_fees_paid_wei_total", "Fees paid by our mined transactions, in wei")
CONFIRMATION_LATENCY = Histogram(
    "outbox_confirmation_latency_seconds",
    "From enqueue to confirmation",
    buckets=(0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600),
)


class OutboxCollector:
    """Outbox gauges computed from the DB at scrape time (any process can serve them)."""

    def describe(self):
        return []

    def collect(self):
        from django.conf import settings
        from django.utils import timezone
        from prometheus_client.core import GaugeMetricFamily

        from blockchain.selectors import outbox_health

        try:
            health = outbox_health(chain_id=settings.CHAIN_ID)
        except Exception:  # a scrape must not fail because the DB blinked
            return
        rows = GaugeMetricFamily("outbox_rows", "Outbox rows by status", labels=["status"])
        for status, count in health["by_status"].items():
            rows.add_metric([status], count)
        yield rows
        age = GaugeMetricFamily(
            "outbox_oldest_age_seconds", "Age of the oldest row still waiting, by stage", labels=["stage"]
        )
        now = timezone.now()
        for stage, at in (("queued", health["oldest_queued_at"]), ("sent", health["oldest_sent_at"])):
            age.add_metric([stage], (now - at).total_seconds() if at else 0.0)
        yield age


_registered = False


def scrape_time_collectors() -> list:
    """Collectors computed from the DB when scraped (added to the multiprocess scrape registry too)."""
    return [OutboxCollector()]


def register_collectors() -> None:
    global _registered
    if not _registered:
        from prometheus_client import REGISTRY

        for collector in scrape_time_collectors():
            REGISTRY.register(collector)
        _registered = True


INDEXER_EVENTS = Counter(
    "indexer_events_total", "Chain events indexed, by contract artifact and event", ["artifact", "event"]
)
# Gauges: with several processes, the value most recently set by any of them is the true one.
INDEXER_LAG = Gauge(
    "indexer_lag_blocks",
    "Blocks between the chain head and the indexed block",
    multiprocess_mode="mostrecent",
)
INDEXER_HEAD = Gauge("indexer_chain_head", "Latest block the indexer saw", multiprocess_mode="mostrecent")
INDEXER_INDEXED_BLOCK = Gauge(
    "indexer_indexed_block",
    "Highest block indexed for every watched contract",
    multiprocess_mode="mostrecent",
)
INDEXER_REORGS = Counter("indexer_reorgs_total", "Reorgs detected by the indexer")
INDEXER_REORG_DEPTH = Histogram(
    "indexer_reorg_depth_blocks", "Blocks rewound per reorg", buckets=(1, 2, 3, 5, 10, 20, 50, 100, 500)
)

SIGNER_BALANCE = Gauge(
    "chain_signer_balance",
    "The signer's native balance (coin units), as last read",
    multiprocess_mode="mostrecent",
)
