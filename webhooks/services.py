"""Announcing events and managing endpoints.

`announce` is the one way a change reaches partners: it writes the event and its deliveries in the
caller's database transaction, and a worker is asked to deliver them once that transaction commits.
So nothing is announced that did not commit (a rollback takes the event with it) and nothing that
committed is missed (a lost kick or a dead worker leaves due rows the beat sweep delivers).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone

from core.api import StateConflict
from core.secrets import Secret
from webhooks import signing, targets
from webhooks.catalogue import is_known
from webhooks.metrics import WEBHOOK_ENDPOINTS_DISABLED, WEBHOOK_EVENTS
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.signals import endpoint_disabled

logger = logging.getLogger(__name__)

Data = dict[str, Any] | Callable[[], dict[str, Any]]


class AnnouncedOutsideTransaction(RuntimeError):
    """An event must be written in the transaction of the change it describes."""


def announce(event_type: str, *, data: Data, subject: models.Model | None = None) -> WebhookEvent | None:
    """Announce `event_type` to every active endpoint that subscribed to it, in the caller's transaction.

    `data` is the resource as the REST API shows it to an operator (or a callable that builds it:
    it is called only when an endpoint listens). Returns the event, or None when nobody listens.
    """
    if not is_known(event_type):
        raise ValueError(f"unknown webhook event type {event_type!r}")
    if not transaction.get_connection().in_atomic_block:
        # Outside a transaction the change has already committed on its own: a crash before this
        # line would lose the announcement, which is the promise webhooks make.
        if settings.WEBHOOK_REQUIRE_TRANSACTION:
            raise AnnouncedOutsideTransaction(f"{event_type} announced outside a database transaction")
        logger.warning("webhook event %s announced outside a database transaction", event_type)
    if _suppressed.get():
        return None
    listeners = [pk for pk, types in _active_endpoints() if event_type in types]
    if not listeners:
        return None
    now = timezone.now()
    payload = _payload(event_type, data, subject)
    event = WebhookEvent.objects.create(
        id=f"msg_{uuid.uuid4().hex}",
        event_type=event_type,
        subject_type=subject._meta.label_lower if subject is not None else "",
        subject_id=str(subject.pk) if subject is not None else "",
        body=json.dumps(
            {"type": event_type, "timestamp": now.isoformat(), "data": payload},
            cls=DjangoJSONEncoder,
            separators=(",", ":"),
            ensure_ascii=False,
        ),
        created_at=now,
    )
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(event=event, endpoint_id=pk, next_attempt_at=now, window_started_at=now)
        for pk in listeners
    )
    WEBHOOK_EVENTS.labels(event_type).inc()
    deliver_after_commit([d.pk for d in deliveries])
    return event


# Who listens, cached for a moment per process: announcing is on the indexer's hot path. A change made
# in this process clears it at once; another process's change is seen within WEBHOOK_ENDPOINT_CACHE_SECONDS.
_endpoint_cache: tuple[float, list[tuple[int, frozenset[str]]]] | None = None
_suppressed: ContextVar[bool] = ContextVar("webhooks_suppressed", default=False)


def _active_endpoints() -> list[tuple[int, frozenset[str]]]:
    global _endpoint_cache
    now = time.monotonic()
    if _endpoint_cache is None or now - _endpoint_cache[0] > settings.WEBHOOK_ENDPOINT_CACHE_SECONDS:
        rows = WebhookEndpoint.objects.filter(active=True).values_list("id", "event_types")
        _endpoint_cache = (now, [(pk, frozenset(types or ())) for pk, types in rows])
    return _endpoint_cache[1]


def forget_endpoints(**_kwargs: Any) -> None:
    """Drop the cached list of listening endpoints (after an endpoint changed)."""
    global _endpoint_cache
    _endpoint_cache = None


def listened(event_types: frozenset[str] | set[str]) -> bool:
    """Whether some active endpoint wants one of these event types."""
    return any(types & event_types for _pk, types in _active_endpoints())


def is_suppressed() -> bool:
    return _suppressed.get()


@contextmanager
def suppressed() -> Iterator[None]:
    """Announce nothing inside (a rebuild passes through states that never were; it announces the
    differences it made at its end instead)."""
    token = _suppressed.set(True)
    try:
        yield
    finally:
        _suppressed.reset(token)


def _payload(event_type: str, data: Data, subject: models.Model | None) -> dict[str, Any]:
    """The event's data. A representation that fails (a bug, a row gone) must not stop the change it
    describes — a receipt, the indexer — so the event still goes out, naming its subject, and the
    failure is logged; a savepoint keeps a failed query from poisoning the caller's transaction."""
    if not callable(data):
        return data
    try:
        with transaction.atomic():
            return data()
    except Exception:
        logger.exception("webhook %s: the representation of its subject failed", event_type)
        return {
            "subject": {
                "type": subject._meta.label_lower if subject is not None else "",
                "id": str(subject.pk) if subject is not None else "",
            },
            "representation_unavailable": True,
        }


class _Kicks:
    """The deliveries written in one transaction, handed to a worker by one task after it commits."""

    def __init__(self) -> None:
        self.ids: list[int] = []

    def __call__(self) -> None:
        from webhooks.tasks import kick_delivery

        ids, self.ids = self.ids, []
        kick_delivery(ids)


def deliver_after_commit(ids: list[int]) -> None:
    """Ask a worker to deliver `ids` once the current transaction commits (one task per commit)."""
    connection = transaction.get_connection()
    kicks: _Kicks | None = getattr(connection, "_webhook_kicks", None)
    # A callback registered in a savepoint that rolled back is gone: start a new one then.
    if kicks is None or not any(entry[1] is kicks for entry in connection.run_on_commit):
        kicks = _Kicks()
        connection._webhook_kicks = kicks
        transaction.on_commit(kicks)
    kicks.ids.extend(ids)
    if not connection.in_atomic_block:  # autocommit: on_commit ran the callback at once
        kicks()


# -- endpoints ---------------------------------------------------------------------------------------
def _check_event_types(event_types: list[str]) -> None:
    unknown = sorted({t for t in event_types if not is_known(t)})
    if unknown:
        raise ValueError(f"unknown event types: {', '.join(unknown)}")


def create_endpoint(
    *, url: str, event_types: list[str], description: str = "", active: bool = True, created_by=None
) -> tuple[WebhookEndpoint, Secret]:
    """Register an endpoint. The secret is returned once, here; only its ciphertext is stored."""
    targets.check_url(url)
    _check_event_types(event_types)
    secret = signing.new_secret()
    endpoint = WebhookEndpoint.objects.create(
        url=url,
        event_types=sorted(set(event_types)),
        description=description,
        active=active,
        secret_ciphertext=signing.seal(secret),
        created_by=created_by,
    )
    return endpoint, secret


def update_endpoint(*, endpoint: WebhookEndpoint, **changes: Any) -> WebhookEndpoint:
    """Change an endpoint's URL, event types, description or activity. Re-activating one clears its
    failure record, so it gets a fresh chance."""
    if "url" in changes:
        targets.check_url(changes["url"])
    if "event_types" in changes:
        _check_event_types(changes["event_types"])
        changes["event_types"] = sorted(set(changes["event_types"]))
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        reactivated = changes.get("active") is True and not locked.active
        for name, value in changes.items():
            setattr(locked, name, value)
        if reactivated:
            locked.disabled_at = None
            locked.disabled_reason = ""
            locked.consecutive_failures = 0
            locked.failing_since = None
        locked.save()
        if reactivated:  # what waited while it was off goes now
            now = timezone.now()
            waiting = list(
                WebhookDelivery.objects.filter(
                    endpoint=locked, status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED]
                ).values_list("pk", flat=True)
            )
            WebhookDelivery.objects.filter(pk__in=waiting).update(next_attempt_at=now)
            deliver_after_commit(waiting)
    return locked


def rotate_secret(*, endpoint: WebhookEndpoint) -> Secret:
    """A new signing secret; every delivery attempted from now on is signed with it only."""
    secret = signing.new_secret()
    endpoint.secret_ciphertext = signing.seal(secret)
    endpoint.secret_rotated_at = timezone.now()
    endpoint.save(update_fields=["secret_ciphertext", "secret_rotated_at", "updated_at"])  # audited, redacted
    return secret


def redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again, whatever its outcome so far, with a fresh retry window."""
    with transaction.atomic():
        locked = WebhookDelivery.objects.select_for_update().select_related("endpoint").get(pk=delivery.pk)
        if not locked.endpoint.active:
            raise StateConflict(
                "The endpoint is disabled: re-activate it before redelivering.", code="endpoint_inactive"
            )
        now = timezone.now()
        locked.status = DeliveryStatus.PENDING
        locked.next_attempt_at = now
        locked.window_started_at = now
        locked.save(update_fields=["status", "next_attempt_at", "window_started_at"])
        deliver_after_commit([locked.pk])
    return locked


def disable_endpoint(*, endpoint: WebhookEndpoint, reason: str) -> None:
    """Switch a failing endpoint off, in the caller's transaction: an alert (metric and error log)
    and an audit event (the audit app listens to `endpoint_disabled`)."""
    now = timezone.now()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        active=False, disabled_at=now, disabled_reason=reason[:300], updated_at=now
    )
    endpoint.active, endpoint.disabled_at, endpoint.disabled_reason = False, now, reason[:300]
    forget_endpoints()
    WEBHOOK_ENDPOINTS_DISABLED.inc()
    logger.error("webhook endpoint %s disabled: %s", endpoint.pk, reason)
    endpoint_disabled.send(sender=WebhookEndpoint, endpoint=endpoint, reason=reason)


def purge_settled(*, older_than_days: float | None = None) -> int:
    """Delete events whose deliveries are all settled (succeeded or dead) and older than the
    retention (WEBHOOK_RETENTION_DAYS), with their deliveries and attempts. Returns events deleted."""
    days = settings.WEBHOOK_RETENTION_DAYS if older_than_days is None else older_than_days
    cutoff = timezone.now() - timedelta(days=days)
    unsettled = WebhookDelivery.objects.filter(
        event=models.OuterRef("pk"), status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED]
    )
    old = WebhookEvent.objects.filter(created_at__lt=cutoff).exclude(models.Exists(unsettled))
    deleted = 0
    while True:
        ids = list(old.values_list("pk", flat=True)[:5000])
        if not ids:
            return deleted
        WebhookEvent.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
