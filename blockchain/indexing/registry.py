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
_after_rebuild_hooks: dict[str, RebuildHook] = {}
_reconcilers: dict[str, Reconciler] = {}
_run_hooks: dict[str, RunHook] = {}


def register_rebuild_hook(name: str, hook: RebuildHook, *, after: RebuildHook | None = None) -> None:
    """`hook` is called by `rebuild_from_chain` before the replay: reset this app's chain-derived
    columns. `after`, if given, once the replay is done: settle rows no replayed event touched."""
    _rebuild_hooks[name] = hook
    if after is not None:
        _after_rebuild_hooks[name] = after
    else:
        _after_rebuild_hooks.pop(name, None)


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


def after_rebuild_hooks() -> dict[str, RebuildHook]:
    return dict(_after_rebuild_hooks)


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
    structural: bool = False  # what the indexer itself needs at once (watched addresses): never deferred


_projections: dict[str, Projection] = {}


def register_projection(
    name: str,
    *,
    kinds: Iterable[tuple[str, str]],
    keys: Callable[[DecodedEvent], Iterable[Any]],
    project: Callable[[set], None],
    structural: bool = False,
) -> None:
    """Projections run in registration order (an app registers the ones others' consequences
    depend on first). A `structural` one shapes the indexing itself (which addresses are watched)
    and runs with its range even when a replay defers the domain projections to its end."""
    _projections[name] = Projection(
        name=name, kinds=frozenset(kinds), keys=keys, project=project, structural=structural
    )


def projections() -> dict[str, Projection]:
    return dict(_projections)


def projected_kinds() -> set[tuple[str, str]]:
    return {kind for projection in _projections.values() for kind in projection.kinds}


def touched_keys(events: Iterable[DecodedEvent], into: dict[str, set]) -> dict[str, set]:
    """Add the keys each projection must re-derive for `events` to `into` (by projection name)."""
    by_kind: dict[tuple[str, str], list[DecodedEvent]] = {}
    for event in events:
        kind = (event.artifact, event.name)
        if kind in by_kind:
            by_kind[kind].append(event)
        else:
            by_kind[kind] = [event]
    for name, projection in _projections.items():
        for kind in projection.kinds & by_kind.keys():
            keys = into.setdefault(name, set())
            for event in by_kind[kind]:
                keys.update(projection.keys(event))
    return into


def project_keys(touched: dict[str, set], *, structural_only: bool = False) -> int:
    """Run each projection (in registration order) for its collected keys (with `structural_only`,
    only the structural ones, whose keys are then taken out of `touched`). Returns projections run."""
    ran = 0
    for name, projection in list(_projections.items()):
        if structural_only and not projection.structural:
            continue
        keys = touched.pop(name, None) if structural_only else touched.get(name)
        if keys:
            projection.project(keys)
            ran += 1
    return ran


def project_touched(events: Iterable[DecodedEvent]) -> int:
    """Re-derive every entity the events touch (added or orphaned alike). Returns projections run."""
    return project_keys(touched_keys(events, {}))
