"""Platform-level tasks."""

from __future__ import annotations

import socket

from celery import shared_task
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

WORKER_HEARTBEAT_KEY = "platform:worker-heartbeat"


@shared_task(name="core.tasks.worker_heartbeat")
def worker_heartbeat() -> dict:
    """Prove a worker can reach the DB and the cache; records when it last did."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    now = timezone.now().isoformat()
    beat = {"host": socket.gethostname(), "at": now, "database": connection.vendor}
    cache.set(WORKER_HEARTBEAT_KEY, beat, timeout=None)
    return beat


@shared_task(name="core.tasks.purge_idempotency_records")
def purge_idempotency_records() -> int:
    """Delete Idempotency-Key records past their TTL (they are no longer replayed anyway)."""
    from core.idempotency import purge_expired

    return purge_expired()
