"""One Redis connection pool per process, for locks and hot-path caches."""

from __future__ import annotations

import functools

import redis
from django.conf import settings
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry

# redis-py 8 retries a failed command 10 times, and each retry's connect 10 times more, with backoff:
# a request that meets a dead Redis waited seconds (refused) to minutes (black-holed). Here a command
# is tried at most twice, each connect at most twice, quickly: enough for a connection the server
# dropped, and an outage costs a request about one connect timeout, not a hundred.
CONNECT_TIMEOUT_SECONDS = 1.0
RETRY_OPTIONS = {
    "retry": Retry(ExponentialWithJitterBackoff(base=0.01, cap=0.05), 1),
    "socket_connect_timeout": CONNECT_TIMEOUT_SECONDS,
}


def connect(url: str) -> redis.Redis:
    """A client for URL with the platform's timeouts and bounded retries."""
    return redis.Redis.from_url(url, socket_timeout=5, health_check_interval=30, **RETRY_OPTIONS)


@functools.cache
def get_redis() -> redis.Redis:
    if not settings.USES_REDIS:
        raise RuntimeError("REDIS_URL is not configured")
    return connect(settings.REDIS_URL)
