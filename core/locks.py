"""Cross-process locks so a periodic task (or the long-running poller) never runs twice at once.

Redis locks (token-checked release, TTL so a dead holder cannot block forever) when Redis is
configured; otherwise an flock() file lock, which the kernel releases when the holder dies.
"""

from __future__ import annotations

import fcntl
import functools
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

from django.conf import settings

from core.redis import get_redis

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


class HeldLock(Protocol):
    def extend(self, seconds: int) -> bool: ...

    def release(self) -> None: ...


class _RedisHeldLock:
    def __init__(self, lock: Any) -> None:
        self._lock = lock

    def extend(self, seconds: int) -> bool:
        """Reset the TTL to `seconds`; False if the lock was lost (expired and taken by another)."""
        from redis.exceptions import LockError

        try:
            return bool(self._lock.extend(seconds, replace_ttl=True))
        except LockError:
            return False

    def release(self) -> None:
        from redis.exceptions import LockError

        try:
            self._lock.release()
        except LockError:
            logger.warning("lock %s expired before release", self._lock.name)


class _FileHeldLock:
    def __init__(self, fd: int) -> None:
        self._fd = fd

    def extend(self, seconds: int) -> bool:
        return True  # flock has no TTL; it is held until released or the process dies

    def release(self) -> None:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)


def acquire_lock(name: str, *, ttl: int, wait: float = 0.0) -> HeldLock | None:
    """Try to take the named lock; return a handle, or None when another process holds it."""
    if settings.USES_REDIS:
        # thread_local=False: the heartbeat thread renews a lock its holder's thread took.
        lock = get_redis().lock(
            f"lock:{name}", timeout=ttl, blocking=wait > 0, blocking_timeout=wait or None, thread_local=False
        )
        return _RedisHeldLock(lock) if lock.acquire() else None
    settings.LOCK_DIR.mkdir(parents=True, exist_ok=True)
    fd = os.open(settings.LOCK_DIR / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return _FileHeldLock(fd)


class Heartbeat:
    """Renews a held lock every third of its TTL from a daemon thread, so a short TTL can guard a
    long run: while the holder lives the lock stays; when it dies (SIGKILL, OOM) the lock expires
    within one TTL and another process takes over. `lost` turns True if a renewal failed."""

    def __init__(self, handle: HeldLock, *, ttl: int, name: str = "") -> None:
        self.handle, self.ttl, self.name = handle, ttl, name
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lock-heartbeat-{name}", daemon=True)

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def _beat(self) -> None:
        while not self._stop.wait(max(self.ttl / 3, 0.2)):
            try:
                renewed = self.handle.extend(self.ttl)
            except Exception as exc:  # Redis blinked: try again next beat, the TTL covers two misses
                logger.warning("lock %s: renewal failed (%s)", self.name, exc)
                continue
            if not renewed:
                self.lost = True
                logger.warning("lock %s: lost (expired and taken by another holder)", self.name)
                return

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)


@contextmanager
def held_lock(
    name: str, *, ttl: int, wait: float = 0.0, heartbeat: bool = False
) -> Iterator[HeldLock | None]:
    """Context manager form of `acquire_lock`; yields None when the lock is busy. `heartbeat=True`
    renews the lock while the block runs (a short `ttl` then bounds how long a dead holder blocks)."""
    handle = acquire_lock(name, ttl=ttl, wait=wait)
    beat = Heartbeat(handle, ttl=ttl, name=name).start() if handle is not None and heartbeat else None
    try:
        yield handle
    finally:
        if beat is not None:
            beat.stop()
        if handle is not None:
            handle.release()


def single_instance(name: str, *, ttl: int) -> Callable[[F], F]:
    """Decorator for periodic tasks: skip (return None) when another run holds the lock."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with held_lock(name, ttl=ttl) as handle:
                if handle is None:
                    logger.info("skipping %s: another run holds lock %s", func.__name__, name)
                    return None
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
