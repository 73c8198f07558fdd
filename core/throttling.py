"""Rate limits: sliding windows kept in Redis.

Scopes (rates in settings.THROTTLE_RATES, e.g. "10/min"; None turns a scope off):
- `login`: sign-in attempts per client IP: API token and refresh, the admin login;
- `login_account`: the same attempts per account: the username typed (case-insensitive; known or
  not), or for a refresh the user its token names;
- `register`: sign-ups per client IP;
- `verify_anon`: the public verification endpoints and page, per client IP;
- `writes`: unsafe methods per signed-in user (every API view, by default).

Each limit is a sliding log: a sorted set per client holding the times of the requests it admitted
during the last period. One Lua script, atomic in Redis, drops the entries that left the window and
admits the request only if every limit it is checked against (a login: its IP and its account) has
room, recording it in all of them. So at most `rate` requests pass in any interval one period long,
where a fixed window lets twice that through around its boundary. Refused requests are not recorded:
hammering a limit buys nothing, and the retry time is when the oldest entry leaves the window. A set
holds at most `rate` entries. DRF's stock throttles keep such a list in the cache too, but read,
modify and write it in three steps, so concurrent requests can all slip under the limit.

Time comes from one clock (`now()`; tests swap it with `use_clock`), passed to the script rather
than read in Redis, so tests move time instead of waiting for it. A refused request is a 429 whose
Retry-After is that wait in whole seconds, and whose body is `{code: "throttled", retry_after}`.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import math
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from core.cache import Pause
from core.redis import get_redis
from core.request_context import client_ip

logger = logging.getLogger(__name__)

_PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60}
_PERIODS |= {"h": 3600, "hour": 3600, "d": 86400, "day": 86400}

# KEYS: one sorted set per limit. ARGV: now (ms), this request's member, then count and period (ms)
# of each key in order. Returns 0 when the request is admitted (and recorded under every key),
# otherwise the milliseconds until every key would have room.
_SLIDING_WINDOW_LUA = """
local now = tonumber(ARGV[1])
local wait = 0
for i, key in ipairs(KEYS) do
  local count = tonumber(ARGV[1 + 2 * i])
  local period = tonumber(ARGV[2 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - period)
  local held = redis.call('ZCARD', key)
  if held >= count then
    -- room comes when the entry `held - count` (oldest first) leaves; a lowered rate may leave extra
    local entry = redis.call('ZRANGE', key, held - count, held - count, 'WITHSCORES')
    wait = math.max(wait, tonumber(entry[2]) + period - now)
  end
end
if wait > 0 then
  return wait
end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('PEXPIRE', key, tonumber(ARGV[2 + 2 * i]))
end
return 0
"""


# --- time ------------------------------------------------------------------------------------------
_clock: Callable[[], float] = time.time


def now() -> float:
    """The limiter's current time, in seconds since the epoch."""
    return _clock()


@contextlib.contextmanager
def use_clock(clock: Callable[[], float]) -> Iterator[None]:
    """Count with `clock` instead of the system time while the block runs (tests move time)."""
    global _clock
    previous, _clock = _clock, clock
    try:
        yield
    finally:
        _clock = previous


# --- limits ----------------------------------------------------------------------------------------
def parse_rate(rate: str | None) -> tuple[int, int] | None:
    """ "10/min" → (10, 60); None → None (no limit)."""
    if not rate:
        return None
    count, _, period = rate.partition("/")
    if period not in _PERIODS:
        raise ValueError(f"unknown throttle period in {rate!r}")
    return int(count), _PERIODS[period]


@dataclass(frozen=True)
class Limit:
    key: str
    count: int
    period: int  # seconds


def limit_for(scope: str, ident: str) -> Limit | None:
    """The limit of `scope` (settings.THROTTLE_RATES) for one client, or None when the scope is off."""
    rate = parse_rate(settings.THROTTLE_RATES.get(scope))
    if rate is None:
        return None
    count, period = rate
    return Limit(key=f"{settings.THROTTLE_KEY_PREFIX}:{scope}:{ident}", count=count, period=period)


@functools.cache
def _script():
    return get_redis().register_script(_SLIDING_WINDOW_LUA)


def acquire(limits: Sequence[Limit]) -> float:
    """Admit one request under every limit, or under none: 0 when admitted, otherwise the seconds
    until it would be."""
    now_ms = int(now() * 1000)
    member = uuid.uuid4().hex
    if settings.USES_REDIS:
        args: list[int | str] = [now_ms, member]
        for limit in limits:
            args += [limit.count, limit.period * 1000]
        wait_ms = int(_script()(keys=[limit.key for limit in limits], args=args, client=get_redis()))
        return wait_ms / 1000
    # `make run` without Redis: the same log in the cache, read and written non-atomically; close
    # enough for one developer.
    logs = {
        limit.key: [t for t in cache.get(limit.key, []) if t > now_ms - limit.period * 1000]
        for limit in limits
    }
    wait_ms = 0
    for limit in limits:
        held = sorted(logs[limit.key])
        if len(held) >= limit.count:
            wait_ms = max(wait_ms, held[len(held) - limit.count] + limit.period * 1000 - now_ms)
    if wait_ms:
        return wait_ms / 1000
    for limit in limits:
        cache.set(limit.key, [*logs[limit.key], now_ms], timeout=limit.period)
    return 0.0


# After the cache fails, requests go uncounted this long before it is tried again (on the limiter's
# clock, which tests move).
UNCOUNTED_PAUSE_SECONDS = 5.0
UNCOUNTED = Pause(UNCOUNTED_PAUSE_SECONDS, clock=lambda: now())


def check(limits: Sequence[Limit | None], *, scope: str) -> int | None:
    """Count one request under `limits` (None entries are scopes turned off): None when it may
    go on, otherwise the whole seconds to wait (at least 1). With Redis down the request goes on."""
    active = [limit for limit in limits if limit is not None]
    if not active:
        return None
    if UNCOUNTED.active():
        return None
    try:
        wait = acquire(active)
    except Exception:
        # Rate limiting is protection, not a dependency: with Redis down the site keeps answering
        # (health reports the broker) rather than failing every request; and for a while it stops
        # asking, so that only one request per process in each pause waits on the dead server.
        UNCOUNTED.start()
        logger.warning(
            "throttle %s not counted: cache unavailable; not counting for %ss",
            scope,
            UNCOUNTED_PAUSE_SECONDS,
            exc_info=True,
        )
        return None
    return max(1, math.ceil(wait)) if wait > 0 else None


# --- who is counted --------------------------------------------------------------------------------
def account_ident(username: str) -> str:
    """One key per account name however it is typed (case, Unicode forms); hashed, so the names
    people type (including mistyped passwords in the username box) never sit in Redis."""
    folded = unicodedata.normalize("NFKC", username).casefold()
    return "name-" + hashlib.sha256(folded.encode()).hexdigest()[:32]


def submitted_field(request, field: str) -> str | None:
    """A string field of the request's body (DRF request or a Django form post), or None."""
    # A body that cannot be parsed raises here, as it would in the view: no password is tried then.
    data = request.data if isinstance(request, Request) else request.POST
    value = data.get(field) if hasattr(data, "get") else None
    return value if isinstance(value, str) and value else None


class SlidingWindowThrottle(BaseThrottle):
    scope = ""

    def __init__(self) -> None:
        self.wait_seconds: int | None = None

    def ident(self, request, view) -> str | None:
        """Whom to count, or None when this throttle does not apply to the request."""
        return client_ip(request) or "unknown"

    def limits(self, request, view) -> list[Limit | None]:
        ident = self.ident(request, view)
        return [limit_for(self.scope, ident)] if ident is not None else []

    def allow_request(self, request, view) -> bool:
        self.wait_seconds = check(self.limits(request, view), scope=self.scope)
        return self.wait_seconds is None

    def wait(self) -> int | None:
        return self.wait_seconds


class LoginThrottle(SlidingWindowThrottle):
    """Password attempts (API token, admin login): per client IP and per username typed, counted
    together, so an attempt refused by one limit uses up neither."""

    scope = "login"

    def limits(self, request, view) -> list[Limit | None]:
        limits = super().limits(request, view)
        username = submitted_field(request, get_user_model().USERNAME_FIELD)
        if username is not None:
            limits.append(limit_for("login_account", account_ident(username)))
        return limits


class RefreshThrottle(SlidingWindowThrottle):
    """Token refreshes: per client IP and per user of a validly signed refresh token (a forged token
    names anyone it likes, so only a genuine one is counted against its user)."""

    scope = "login"

    def limits(self, request, view) -> list[Limit | None]:
        from rest_framework_simplejwt.exceptions import TokenBackendError
        from rest_framework_simplejwt.settings import api_settings
        from rest_framework_simplejwt.state import token_backend

        limits = super().limits(request, view)
        raw = submitted_field(request, "refresh")
        if raw is None:
            return limits
        try:
            user_id = token_backend.decode(raw, verify=True).get(api_settings.USER_ID_CLAIM)
        except TokenBackendError:
            return limits
        if user_id is not None:
            limits.append(limit_for("login_account", f"user-{user_id}"))
        return limits


class RegisterThrottle(SlidingWindowThrottle):
    scope = "register"


class AnonymousVerifyThrottle(SlidingWindowThrottle):
    scope = "verify_anon"

    def ident(self, request, view) -> str | None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return None
        return super().ident(request, view)


class UserWriteThrottle(SlidingWindowThrottle):
    scope = "writes"

    def ident(self, request, view) -> str | None:
        user = getattr(request, "user", None)
        if request.method in SAFE_METHODS or user is None or not user.is_authenticated:
            return None
        return f"user-{user.pk}"
