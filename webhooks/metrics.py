"""Prometheus series of webhook delivery."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

WEBHOOK_EVENTS = Counter("webhook_events_total", "Events announced to at least one endpoint", ["event_type"])
WEBHOOK_ATTEMPTS = Counter("webhook_attempts_total", "Delivery attempts, by outcome", ["outcome"])
WEBHOOK_DEAD = Counter("webhook_deliveries_dead_total", "Deliveries given up after the retry window")
WEBHOOK_ENDPOINTS_DISABLED = Counter(
    "webhook_endpoints_disabled_total", "Endpoints disabled after failing for too long"
)
WEBHOOK_LATENCY = Histogram(
    "webhook_attempt_duration_seconds",
    "Time from connecting to an endpoint to its answer",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
WEBHOOK_COMMIT_TO_DELIVERY = Histogram(
    "webhook_commit_to_delivery_seconds",
    "Time from an event's creation to its first successful delivery",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
