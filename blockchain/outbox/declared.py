"""Declared intents: the one way a domain save asks for chain work.

A service that changes a row in a way that needs the chain says so on the instance before saving it
(`declare(loan, STORE_KIND)`); the app's post_save signal enqueues exactly what was declared on that
save (`take_declared`), in the same DB transaction. A save nobody declared anything on — a
projection, a rewind, a rebuild, an admin edit of a plain field — enqueues nothing, whatever state
the row is in: intent is not observation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_ATTRIBUTE = "_declared_intents"


def declare(instance: Any, *kinds: str) -> None:
    """This save of `instance` asks for the intents `kinds` (each at most once)."""
    declared = instance.__dict__.setdefault(_ATTRIBUTE, [])
    for kind in kinds:
        if kind not in declared:
            declared.append(kind)


def take_declared(instance: Any) -> list[str]:
    """The intents declared on this save (then forgotten: the next save declares its own)."""
    return instance.__dict__.pop(_ATTRIBUTE, [])


def enqueue_declared(instance: Any, enqueuers: dict[str, Callable[[Any], object]]) -> int:
    """post_save body: enqueue every intent declared on this save with its app's enqueuer. A kind the
    app has no enqueuer for is a programming error, raised in the caller's transaction."""
    kinds = take_declared(instance)
    for kind in kinds:
        enqueuers[kind](instance)
    return len(kinds)
