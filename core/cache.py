"""The cache (Redis) where it is an optimisation, not a dependency.

The chain answers verification keeps for a minute, the head the API computes confirmations from,
the signers' balances and the balances' fast path all have a source of truth elsewhere (the chain,
the database). While Redis is down, restarting or unreachable, their reads miss and their writes
are skipped, so the API keeps answering from the truth (health reports the broker) instead of
failing every request that touches one of them. After a failure a process leaves Redis alone for
`PAUSE_SECONDS` (`Pause`): one request per process per pause waits on a dead server (about one
connect timeout, `core.redis`), not every request. Each failure is logged and counted
(`cache_unavailable_total{use}`).

Invalidations are not best effort: a delete that fails raises, so that nothing later reads a value
that should have been dropped (`wallets.balances.mark_stale`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import redis
from django.core.cache import cache
from prometheus_client import Counter

logger = logging.getLogger(__name__)

T = TypeVar("T")

# What a Redis that is down, restarting or unreachable raises through redis-py (and the socket
# errors under it); anything else (a wrong type, a script error) is a bug and is raised.
UNAVAILABLE: tuple[type[BaseException], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    ConnectionError,
    TimeoutError,
)
PAUSE_SECONDS = 5.0

CACHE_UNAVAILABLE = Counter(
    "cache_unavailable_total", "Cache operations skipped because the cache failed or was paused", ["use"]
)


class Pause:
    """After a failure, leave a dependency alone for `seconds` (per process). `clock` is read at each
    call, so a test that moves a module's clock moves the pause with it."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self.until = 0.0

    def active(self) -> bool:
        return self.clock() < self.until

    def start(self) -> None:
        self.until = self.clock() + self.seconds


_paused = Pause(PAUSE_SECONDS)


def best_effort(use: str, action: Callable[[], T], *, fallback: T) -> T:
    """`action()`, or `fallback` when the cache fails (the pause starts) or is paused."""
    if _paused.active():
        CACHE_UNAVAILABLE.labels(use).inc()
        return fallback
    try:
        return action()
    except UNAVAILABLE as exc:
        _paused.start()
        CACHE_UNAVAILABLE.labels(use).inc()
        logger.warning(
            "cache unavailable (%s: %s); %s answered without it, and the cache is left alone for %ss",
            type(exc).__name__,
            exc,
            use,
            PAUSE_SECONDS,
        )
        return fallback


def cached(use: str, key: str) -> Any:
    """The cached value of `key`, or None (absent, or the cache is unavailable)."""
    return best_effort(use, lambda: cache.get(key), fallback=None)


def cached_many(use: str, keys: Iterable[str]) -> dict[str, Any]:
    keys = list(keys)
    return best_effort(use, lambda: cache.get_many(keys), fallback={}) if keys else {}


def keep(use: str, key: str, value: Any, *, timeout: float | None) -> None:
    """Cache `value` under `key` for `timeout` seconds (None: until replaced), if the cache is up."""
    best_effort(use, lambda: cache.set(key, value, timeout=timeout), fallback=None)


def keep_many(use: str, values: dict[str, Any], *, timeout: float | None) -> None:
    """`keep` for several keys in one round trip (a pipeline), if the cache is up."""
    if values:
        best_effort(use, lambda: cache.set_many(values, timeout=timeout), fallback=None)


def resume() -> None:
    """Ask the cache again from the next call (tests; an operator's shell after Redis is back)."""
    _paused.until = 0.0
