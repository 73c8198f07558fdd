"""Rate-limit tests move the limiter's clock (core.throttling.use_clock) instead of waiting, and use
client addresses and windows no other test has used."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator

from django.test import override_settings

from core import throttling

_addresses = itertools.count(1)
_epochs = itertools.count(1)


def fresh_ip() -> str:
    """A client address no other test has used."""
    n = next(_addresses)
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


class FakeClock:
    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@contextlib.contextmanager
def limiter_clock() -> Iterator[FakeClock]:
    """The limiter's time, set by the test (use it as a fixture). Each test starts 30 days after the
    previous one, on a whole minute, so no window carries over between tests."""
    fake = FakeClock(1_800_000_000 + next(_epochs) * 30 * 86_400)
    with throttling.use_clock(fake):
        yield fake


def rates(**scopes: str | None) -> override_settings:
    """THROTTLE_RATES with only the given scopes on."""
    base = {"login": None, "login_account": None, "register": None, "verify_anon": None, "writes": None}
    return override_settings(THROTTLE_RATES={**base, **scopes})
