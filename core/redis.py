"""One Redis connection pool per process, for locks and hot-path caches."""

from __future__ import annotations

import functools

import redis
from django.conf import settings


@functools.cache
def get_redis() -> redis.Redis:
    if not settings.USES_REDIS:
        raise RuntimeError("REDIS_URL is not configured")
    return redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=3, health_check_interval=30
    )
