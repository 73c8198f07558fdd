"""Named crash points for the fault tests (the idea of FoundationDB's and TiKV's failpoints).

`LEDGERBRIDGE_FAILPOINTS=after_broadcast` makes the write path's `checkpoint("after_broadcast")`
SIGKILL the current process at that exact point, so a test can prove a crash there loses nothing.
Installed by the devtools app, which production does not load; with the variable unset nothing is
installed and a checkpoint costs one empty-list loop.
"""

from __future__ import annotations

import os
import signal

from blockchain.outbox.hooks import add_checkpoint


def active() -> frozenset[str]:
    return frozenset(
        name.strip() for name in os.environ.get("LEDGERBRIDGE_FAILPOINTS", "").split(",") if name.strip()
    )


def install() -> None:
    points = active()
    if not points or os.environ.get("DJANGO_ENV") == "production":
        return

    def crash_at(name: str) -> None:
        if name in points:
            os.kill(os.getpid(), signal.SIGKILL)

    add_checkpoint(crash_at)
