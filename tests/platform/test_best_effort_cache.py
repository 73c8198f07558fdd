"""core.cache: where the cache is an optimisation, an unavailable Redis is a miss (reads) or a
skipped write, the process then leaves it alone for a pause, and anything that is not an outage
(a bug) still raises."""

from __future__ import annotations

import pytest
import redis
from django.core.cache import cache
from prometheus_client import REGISTRY

from core import cache as best_effort_cache
from core.cache import PAUSE_SECONDS, Pause, best_effort, cached, keep


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(best_effort_cache._paused, "clock", fake)
    monkeypatch.setattr(best_effort_cache._paused, "until", 0.0)
    return fake


def _skipped(use: str) -> float:
    return REGISTRY.get_sample_value("cache_unavailable_total", {"use": use}) or 0.0


def test_an_outage_is_the_fallback_then_a_pause(clock):
    calls = []

    def down():
        calls.append(1)
        raise redis.exceptions.ConnectionError("Connection refused")

    before = _skipped("test-outage")
    assert best_effort("test-outage", down, fallback="miss") == "miss"
    assert best_effort("test-outage", down, fallback="miss") == "miss"
    assert len(calls) == 1  # the second call did not ask the dead server
    assert _skipped("test-outage") == before + 2
    clock.t += PAUSE_SECONDS
    assert best_effort("test-outage", lambda: "hit", fallback="miss") == "hit"  # asked again


@pytest.mark.parametrize(
    "error", [redis.exceptions.TimeoutError("slow"), ConnectionResetError("reset"), TimeoutError()]
)
def test_every_kind_of_outage_counts(clock, error):
    def down():
        raise error

    assert best_effort("test-kinds", down, fallback=None) is None


@pytest.mark.parametrize("error", [redis.exceptions.ResponseError("WRONGTYPE"), ValueError("bug")])
def test_what_is_not_an_outage_raises(clock, error):
    def broken():
        raise error

    with pytest.raises(type(error)):
        best_effort("test-bug", broken, fallback=None)
    assert best_effort("test-bug", lambda: "asked", fallback=None) == "asked"  # no pause started


def test_the_helpers_read_and_write_the_default_cache(clock):
    keep("test", "core-cache-test-key", {"a": 1}, timeout=30)
    assert cache.get("core-cache-test-key") == {"a": 1}
    assert cached("test", "core-cache-test-key") == {"a": 1}
    assert cached("test", "core-cache-absent-key") is None
    cache.delete("core-cache-test-key")


def test_a_pause_reads_its_clock_at_each_call():
    now = [5.0]
    pause = Pause(2.0, clock=lambda: now[0])
    assert not pause.active()
    pause.start()
    assert pause.active()
    now[0] = 6.9
    assert pause.active()
    now[0] = 7.0
    assert not pause.active()
