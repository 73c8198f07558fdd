"""API rate limits, counted in Redis.

Scopes (rates in settings.THROTTLE_RATES, e.g. "10/min"; None turns a scope off):
- `login`: token obtain and refresh, per client IP (password guessing);
- `register`: sign-ups per client IP;
- `verify_anon`: the public verification endpoints and page, per client IP;
- `writes`: unsafe methods per signed-in user (every API view, by default).

Each scope is a fixed window counted with one atomic INCR (+EXPIRE on the first hit), so concurrent
requests cannot both slip under the limit, and the cost per request is one Redis round trip whatever
the rate. DRF's stock throttles keep a list of timestamps per client in the cache instead: read,
modify, write — racy, and as long as the rate is high. A refused request is a 429 whose Retry-After
is the time left in the window.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import BaseThrottle

from core.request_context import client_ip

logger = logging.getLogger(__name__)

_PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60}
_PERIODS |= {"h": 3600, "hour": 3600, "d": 86400, "day": 86400}


def parse_rate(rate: str | None) -> tuple[int, int] | None:
    """ "10/min" → (10, 60); None → None (no limit)."""
    if not rate:
        return None
    count, _, period = rate.partition("/")
    if period not in _PERIODS:
        raise ValueError(f"unknown throttle period in {rate!r}")
    return int(count), _PERIODS[period]


def hit(key: str, period: int) -> int:
    """Count one request in the current window of `key`; returns the count so far."""
    if settings.USES_REDIS:
        from core.redis import get_redis

        pipe = get_redis().pipeline(transaction=False)
        pipe.set(key, 0, ex=period, nx=True)  # the window's counter expires with the window
        pipe.incr(key)
        _, count = pipe.execute()
        return int(count)
    # `make run` without Redis: the cache's add/incr is close enough for one developer.
    cache.add(key, 0, timeout=period)
    return cache.incr(key)


class WindowThrottle(BaseThrottle):
    scope = ""

    def __init__(self) -> None:
        self.wait_seconds: float | None = None

    def ident(self, request, view) -> str | None:
        """Whom to count, or None when this throttle does not apply to the request."""
        return client_ip(request) or "unknown"

    def allow_request(self, request, view) -> bool:
        limit = parse_rate(settings.THROTTLE_RATES.get(self.scope))
        ident = self.ident(request, view) if limit else None
        if ident is None:
            return True
        allowed, period = limit
        now = time.time()
        window = int(now // period)
        key = f"{settings.THROTTLE_KEY_PREFIX}:{self.scope}:{ident}:{window}"
        try:
            count = hit(key, period)
        except Exception:
            # Rate limiting is protection, not a dependency: with Redis down the API keeps answering
            # (health reports the broker), rather than failing every request.
            logger.warning("throttle %s not counted: cache unavailable", self.scope, exc_info=True)
            return True
        if count <= allowed:
            return True
        self.wait_seconds = max(1.0, (window + 1) * period - now)
        return False

    def wait(self) -> float | None:
        return self.wait_seconds


class LoginThrottle(WindowThrottle):
    scope = "login"


class RegisterThrottle(WindowThrottle):
    scope = "register"


class AnonymousVerifyThrottle(WindowThrottle):
    scope = "verify_anon"

    def ident(self, request, view) -> str | None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return None
        return super().ident(request, view)


class UserWriteThrottle(WindowThrottle):
    scope = "writes"

    def ident(self, request, view) -> str | None:
        user = getattr(request, "user", None)
        if request.method in SAFE_METHODS or user is None or not user.is_authenticated:
            return None
        return f"user-{user.pk}"
