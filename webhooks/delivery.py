"""Delivering due webhooks: claim under a lease, POST in parallel, record every attempt.

A claim takes due deliveries with SKIP LOCKED and pushes their next attempt out by a lease, in its
own short transaction; the HTTP calls run outside any transaction; the outcome is written in a second
one. A worker that dies between the two leaves rows whose lease ends and the sweep takes them again
(at-least-once: receivers deduplicate by `webhook-id`, which is the event id on every attempt).
"""

from __future__ import annotations

import logging
import random
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.bulk import bulk_set
from core.log_format import describe_error
from webhooks import signing, targets
from webhooks.metrics import WEBHOOK_ATTEMPTS, WEBHOOK_COMMIT_TO_DELIVERY, WEBHOOK_DEAD, WEBHOOK_LATENCY
from webhooks.models import (
    RETRYING_STATUSES,
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

logger = logging.getLogger(__name__)

USER_AGENT = "LedgerBridge-Webhooks/1"
RECORDED_FIELDS = (
    "status",
    "next_attempt_at",
    "delivered_at",
    "last_attempt_at",
    "last_status_code",
    "last_error",
)
EXCERPT_BYTES = 1024
_DRAIN_LIMIT = 64 * 1024  # a longer answer closes the connection instead of being read to the end


@dataclass
class Outcome:
    delivery: WebhookDelivery
    started_at: datetime
    status_code: int | None = None
    latency_ms: int | None = None
    error: str = ""
    excerpt: str = ""

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def claim(ids: list[int] | None = None, *, limit: int | None = None) -> list[WebhookDelivery]:
    """Take due deliveries (of `ids`, or any) for this worker: attempts +1 and a lease."""
    now = timezone.now()
    limit = limit or settings.WEBHOOK_CLAIM_BATCH
    with transaction.atomic():
        due = WebhookDelivery.objects.filter(
            status__in=RETRYING_STATUSES, next_attempt_at__lte=now, endpoint__active=True
        )
        if ids is not None:
            due = due.filter(pk__in=ids)
        rows = list(
            due.select_for_update(skip_locked=True, of=("self",))
            .select_related("event", "endpoint")
            .order_by("next_attempt_at", "id")[:limit]
        )
        if rows:
            lease = now + timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)
            WebhookDelivery.objects.filter(pk__in=[r.pk for r in rows]).update(
                attempts=F("attempts") + 1, next_attempt_at=lease
            )
            for row in rows:
                row.attempts += 1
    return rows


def _excerpt(raw: bytes) -> str:
    text = raw.decode("utf-8", errors="replace")
    return "".join(ch if ch.isprintable() or ch in "\n\t" else "\ufffd" for ch in text)[:EXCERPT_BYTES]


def attempt(delivery: WebhookDelivery, *, secrets: dict[int, signing.Secret]) -> Outcome:
    """POST one delivery to its endpoint (no database access: this runs in a thread)."""
    outcome = Outcome(delivery=delivery, started_at=timezone.now())
    event, endpoint = delivery.event, delivery.endpoint
    try:
        target = targets.resolve(endpoint.url)
    except targets.UnsafeTarget as exc:
        outcome.error = f"refused: {exc}"
        return outcome
    body = event.body.encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Host": targets.host_header(target),
        "webhook-id": event.id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signing.signature(
            secrets[endpoint.pk], msg_id=event.id, timestamp=timestamp, body=body
        ),
    }
    started = time.perf_counter()
    try:
        response = targets.pool_for(target).urlopen(
            "POST",
            target.path,
            body=body,
            headers=headers,
            redirect=False,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            outcome.status_code = response.status
            outcome.excerpt = _excerpt(response.read(EXCERPT_BYTES))
            remaining = response.length_remaining
            if remaining is not None and remaining <= _DRAIN_LIMIT:
                response.drain_conn()
            else:
                response.close()
        finally:
            response.release_conn()
    except Exception as exc:  # connection refused, timeout, TLS: a failed attempt, retried
        outcome.error = describe_error(exc)[:300]
    outcome.latency_ms = int((time.perf_counter() - started) * 1000)
    WEBHOOK_LATENCY.observe(outcome.latency_ms / 1000)
    return outcome


def backoff(attempts: int) -> timedelta:
    """Exponential with ±20% jitter, so endpoints recovering from an outage are not hit in step."""
    base = settings.WEBHOOK_BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1)
    seconds = min(base, settings.WEBHOOK_BACKOFF_MAX_SECONDS) * random.uniform(0.8, 1.2)
    return timedelta(seconds=seconds)


def record(outcomes: list[Outcome]) -> None:
    """Write what happened: the attempt log, each delivery's state, each endpoint's health."""
    from webhooks.services import disable_endpoint

    if not outcomes:
        return
    now = timezone.now()
    window = timedelta(hours=settings.WEBHOOK_RETRY_HOURS)
    by_endpoint: dict[int, list[Outcome]] = defaultdict(list)
    with transaction.atomic():
        WebhookAttempt.objects.bulk_create(
            WebhookAttempt(
                delivery_id=o.delivery.pk,
                number=o.delivery.attempts,
                started_at=o.started_at,
                status_code=o.status_code,
                latency_ms=o.latency_ms,
                error=o.error,
                response_excerpt=o.excerpt,
            )
            for o in outcomes
        )
        changed = []
        for o in outcomes:
            d = o.delivery
            by_endpoint[d.endpoint_id].append(o)
            d.last_attempt_at, d.last_status_code = o.started_at, o.status_code
            d.last_error = o.error or ("" if o.ok else f"answered {o.status_code}")
            if o.ok:
                d.status, d.next_attempt_at, d.delivered_at = DeliveryStatus.SUCCEEDED, None, now
                WEBHOOK_ATTEMPTS.labels("succeeded").inc()
                if d.attempts == 1:
                    WEBHOOK_COMMIT_TO_DELIVERY.observe((now - d.event.created_at).total_seconds())
            else:
                later = now + backoff(d.attempts)
                if later > d.window_started_at + window:
                    d.status, d.next_attempt_at = DeliveryStatus.DEAD, None
                    WEBHOOK_DEAD.inc()
                else:
                    d.status, d.next_attempt_at = DeliveryStatus.FAILED, later
                WEBHOOK_ATTEMPTS.labels("failed").inc()
            changed.append(d)
        bulk_set(WebhookDelivery, changed, RECORDED_FIELDS)
        endpoints = WebhookEndpoint.objects.select_for_update().in_bulk(list(by_endpoint))
        for pk, results in by_endpoint.items():
            endpoint = endpoints[pk]
            if any(o.ok for o in results):
                if endpoint.consecutive_failures or endpoint.failing_since:
                    WebhookEndpoint.objects.filter(pk=pk).update(consecutive_failures=0, failing_since=None)
                continue
            failures = endpoint.consecutive_failures + len(results)
            since = endpoint.failing_since or min(o.started_at for o in results)
            WebhookEndpoint.objects.filter(pk=pk).update(consecutive_failures=failures, failing_since=since)
            failing_for = now - since
            if (
                endpoint.active
                and failures >= settings.WEBHOOK_DISABLE_AFTER_FAILURES
                and failing_for >= timedelta(hours=settings.WEBHOOK_DISABLE_AFTER_HOURS)
            ):
                disable_endpoint(
                    endpoint=endpoint,
                    reason=f"{failures} failed attempts in a row since {since:%Y-%m-%d %H:%M} UTC",
                )


def deliver(ids: list[int] | None = None, *, limit: int | None = None) -> int:
    """Claim due deliveries, send them in parallel, record the outcomes. Returns how many were tried."""
    rows = claim(ids, limit=limit)
    if not rows:
        return 0
    secrets = {}
    for row in rows:
        if row.endpoint_id not in secrets:
            secrets[row.endpoint_id] = signing.unseal(row.endpoint.secret_ciphertext)
    threads = min(settings.WEBHOOK_SEND_THREADS, len(rows))
    if threads <= 1:
        outcomes = [attempt(row, secrets=secrets) for row in rows]
    else:
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="webhook") as pool:
            outcomes = list(pool.map(lambda row: attempt(row, secrets=secrets), rows))
    record(outcomes)
    return len(rows)
