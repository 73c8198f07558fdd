"""Where domain apps plug into the chain side, without `blockchain` importing them.

In `AppConfig.ready()` (through its `onchain/handlers.py`) a domain app registers:
- projections: the event kinds an entity derives from, the entities an event touches, and how to
  recompute them from the surviving events. Every path that stores or orphans events (receipt,
  indexer, rewind, rebuild, `reconcile --fix`) ends in `project_touched`, so delivering an event
  twice, or in another order, changes nothing;
- rebuild hooks (reset chain-derived columns), reconcilers (compare with the contracts' views) and
  indexer run hooks.

Failure hooks of outbox intents live with the outbox (`blockchain.outbox.hooks`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DecodedEvent:
    chain_id: int
    address: str
    artifact: str
    name: str
    args: dict[str, Any]
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
    transaction_id: int | None = None  # the outbox row whose receipt carried it, if any
    block_timestamp: int | None = None  # unix seconds of its block (the header's timestamp)

    @property
    def key(self) -> tuple[int, str, int]:
        return (self.chain_id, self.tx_hash, self.log_index)


RebuildHook = Callable[[], None]
RunHook = Callable[[Any], None]  # (w3) -> None


@dataclass(frozen=True)
class Drift:
    check: str
    key: str
    cache: Any
    chain: Any


@dataclass
class ReconcileResult:
    checked: int = 0
    drift: list[Drift] = field(default_factory=list)


Reconciler = Callable[[Any], ReconcileResult]  # (w3) -> result

_rebuild_hooks: dict[str, RebuildHook] = {}
_reconcilers: dict[str, Reconciler] = {}
_run_hooks: dict[str, RunHook] = {}


def register_rebuild_hook(name: str, hook: RebuildHook) -> None:
    """Called by `rebuild_from_chain` before the replay: delete this app's chain-derived rows."""
    _rebuild_hooks[name] = hook


def register_reconciler(name: str, reconciler: Reconciler) -> None:
    """Called by `reconcile`: compare this app's cached rows with the chain's views."""
    _reconcilers[name] = reconciler


def register_run_hook(name: str, hook: RunHook) -> None:
    """Called with the Web3 client at the start of every indexer run: apps that add contracts to
    watch (the wallets app: the configured ERC-20 tokens)."""
    _run_hooks[name] = hook


def run_hooks() -> dict[str, RunHook]:
    return dict(_run_hooks)


def rebuild_hooks() -> dict[str, RebuildHook]:
    return dict(_rebuild_hooks)


def reconcilers() -> dict[str, Reconciler]:
    return dict(_reconcilers)


@dataclass(frozen=True)
class Projection:
    """An entity's chain facts, derived from the surviving (non-removed) events.

    `keys(event)` names the entities an event touches; `project(keys)` recomputes those entities
    from the stored events that survive, in (block, log index) order, plus the intents still in
    flight. The receipt path, the indexer, the reorg rewind and rebuild all end here, so none of
    them keeps its own way of applying or undoing a fact: an orphaned event is marked removed and
    the entities it touched are projected again.
    """

    name: str
    kinds: frozenset[tuple[str, str]]
    keys: Callable[[DecodedEvent], Iterable[Any]]
    project: Callable[[set], None]


_projections: dict[str, Projection] = {}


def register_projection(
    name: str,
    *,
    kinds: Iterable[tuple[str, str]],
    keys: Callable[[DecodedEvent], Iterable[Any]],
    project: Callable[[set], None],
) -> None:
    """Projections run in registration order (an app registers the ones others' consequences
    depend on first)."""
    _projections[name] = Projection(name=name, kinds=frozenset(kinds), keys=keys, project=project)


def projections() -> dict[str, Projection]:
    return dict(_projections)


def projected_kinds() -> set[tuple[str, str]]:
    return {kind for projection in _projections.values() for kind in projection.kinds}


def project_touched(events: Iterable[DecodedEvent]) -> int:
    """Re-derive every entity the events touch (added or orphaned alike). Returns projections run."""
    by_kind: dict[tuple[str, str], list[DecodedEvent]] = {}
    for event in events:
        kind = (event.artifact, event.name)
        if kind in by_kind:
            by_kind[kind].append(event)
        else:
            by_kind[kind] = [event]
    ran = 0
    for projection in list(_projections.values()):
        keys: set = set()
        for kind in projection.kinds & by_kind.keys():
            for event in by_kind[kind]:
                keys.update(projection.keys(event))
        if keys:
            projection.project(keys)
            ran += 1
    return ran
