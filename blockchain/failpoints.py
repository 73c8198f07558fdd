"""Named crash points for the fault tests (the idea of FoundationDB's and TiKV's failpoints).

`LEDGERBRIDGE_FAILPOINTS=after_broadcast` makes `failpoint("after_broadcast")` SIGKILL the current
process at that exact point, so a test can prove a crash there loses nothing. Ignored in
production, and a no-op costing one set lookup everywhere else.
"""

from __future__ import annotations

import os
import signal

_ACTIVE = frozenset(
    name.strip()
    for name in os.environ.get("LEDGERBRIDGE_FAILPOINTS", "").split(",")
    if name.strip() and os.environ.get("DJANGO_ENV") != "production"
)


def failpoint(name: str) -> None:
    if name in _ACTIVE:
        os.kill(os.getpid(), signal.SIGKILL)
