"""Prometheus series of the write path (outbox rows, gas, fees, confirmation latency)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

OUTBOX_TRANSITIONS = Counter("outbox_transitions_total", "Outbox rows entering a status", ["status"])
OUTBOX_FAILURES = Counter("outbox_failures_total", "Outbox rows failed, by decoded error", ["error"])
OUTBOX_REPLACEMENTS = Counter("outbox_replacements_total", "Stuck transactions replaced with bumped fees")
OUTBOX_REORGED = Counter("outbox_reorged_total", "Mined transactions whose receipt disappeared (reorg)")
GAS_USED = Counter("chain_gas_used_total", "Gas used by our mined transactions", ["contract", "function"])
OUTBOX_FEE_WAITS = Counter(
    "outbox_fee_cap_waits_total", "Sender passes that left intents queued: the network fee is above the cap"
)
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
