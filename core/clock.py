"""The platform's notion of now, for rules that compare with the chain's time.

In production and test it is the wall clock (`timezone.now()`). In development, `manage.py
advance_time` moves the dev chain's clock forward and records how far ahead of the wall clock the
chain now is in `VAR_DIR/dev-clock.json`; `now()` adds that offset, so campaign deadlines, the
minimum run and the early-close floor follow the chain (close → finalize → certificates in a demo
without waiting three weeks). The file is read by every process of `make run` (they share VAR_DIR)
and written atomically; the offset never decreases.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

OFFSET_FILE = "dev-clock.json"

_cache: dict[str, object] = {}


class ClockError(ValueError):
    """The clock cannot be moved as asked (backwards, or outside development)."""


def offset_path() -> Path:
    return Path(settings.VAR_DIR) / OFFSET_FILE


def follows_dev_offset() -> bool:
    """Only development has a movable clock; production and test always read the wall clock."""
    return settings.DJANGO_ENV == "development"


def _read_offset_seconds(path: Path) -> int:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return 0
    key = (str(path), stat.st_ino, stat.st_mtime_ns, stat.st_size)  # a rename gives a new inode
    if _cache.get("key") == key:
        return int(_cache["seconds"])  # type: ignore[call-overload]
    try:
        seconds = int(json.loads(path.read_text())["offset_seconds"])
    except (OSError, ValueError, KeyError, TypeError):
        # A damaged file must not stop the platform; the wall clock is the safe reading.
        seconds = 0
    _cache.update(key=key, seconds=max(seconds, 0))
    return max(seconds, 0)


def offset() -> timedelta:
    """How far the platform's clock is ahead of the wall clock (zero outside development)."""
    if not follows_dev_offset():
        return timedelta(0)
    return timedelta(seconds=_read_offset_seconds(offset_path()))


def now() -> datetime:
    """The platform's now: `timezone.now()`, plus the development offset (see the module docstring)."""
    return timezone.now() + offset()


def set_offset(*, seconds: int) -> timedelta:
    """Record a new development offset (`advance_time`). Refuses outside development and refuses to
    go backwards: rows stamped with the platform's time must never end up in its future."""
    if not follows_dev_offset():
        raise ClockError(f"the platform clock moves only in development (DJANGO_ENV={settings.DJANGO_ENV})")
    path = offset_path()
    current = _read_offset_seconds(path)
    if seconds < current:
        raise ClockError(
            f"the platform clock does not go backwards (offset {current} s, asked for {seconds} s)"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    body = json.dumps({"offset_seconds": int(seconds), "set_at": timezone.now().isoformat()})
    # Written beside the target and renamed over it: a reader sees the old file or the new one.
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".dev-clock.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(body + "\n")
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return timedelta(seconds=int(seconds))
