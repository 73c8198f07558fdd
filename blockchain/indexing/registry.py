"""Where domain apps plug into the chain side, without `blockchain` importing them.

In `AppConfig.ready()` a domain app registers:
- event handlers: `(artifact, event) -> handler(event)`, called for every decoded log of that
  event, from a receipt (confirmer) or from the indexer. Handlers must be idempotent and
  order-tolerant (an upsert keyed by what the event identifies), because both paths deliver, and
  re-ingestion after a crash or a reorg delivers again;
- removal handlers, rebuild hooks and reconcilers.

Failure hooks of outbox intents live with the outbox (`blockchain.outbox.hooks`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
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

    @property
    def key(self) -> tuple[int, str, int]:
        return (self.chain_id, self.tx_hash, self.log_index)


EventHandler = Callable[[DecodedEvent], None]
BatchHandler = Callable[[list[DecodedEvent]], None]
RemovalHandler = Callable[[list[DecodedEvent]], None]
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

_event_handlers: dict[tuple[str, str], list[tuple[Callable, bool]]] = defaultdict(list)
_removal_handlers: dict[tuple[str, str], list[RemovalHandler]] = defaultdict(list)
_rebuild_hooks: dict[str, RebuildHook] = {}
_reconcilers: dict[str, Reconciler] = {}
_run_hooks: dict[str, RunHook] = {}


def register_event_handler(
    artifact: str, event: str, handler: Callable, *, batch: bool | str = False
) -> None:
    """`batch=True`: the handler takes a list of consecutive events of this kind (bulk upserts).
    `batch="all"`: one call with every event of this kind in the dispatch, in chain order, after the
    ordered handlers; for handlers that do not depend on other kinds' order (cache invalidation,
    upserts keyed by what the event names), where kinds interleave (a mint emits two events each)."""
    entry = (handler, batch)
    if entry not in _event_handlers[(artifact, event)]:
        _event_handlers[(artifact, event)].append(entry)


def register_removal_handler(artifact: str, event: str, handler: RemovalHandler) -> None:
    """Called with events a reorg orphaned (already marked removed): re-derive what they touched
    from the events that survive."""
    if handler not in _removal_handlers[(artifact, event)]:
        _removal_handlers[(artifact, event)].append(handler)


def register_rebuild_hook(name: str, hook: RebuildHook) -> None:
    """Called by `rebuild_from_chain` before the replay: delete this app's chain-derived rows."""
    _rebuild_hooks[name] = hook


def register_reconciler(name: str, reconciler: Reconciler) -> None:
    """Called by `reconcile`: compare this app's cached rows with the chain's views."""
    _reconcilers[name] = reconciler


def on_event(artifact: str, event: str, *, batch: bool | str = False) -> Callable[[Callable], Callable]:
    """Decorator form of `register_event_handler` (registration happens at import: import the module
    from `AppConfig.ready()`)."""

    def decorate(handler: Callable) -> Callable:
        register_event_handler(artifact, event, handler, batch=batch)
        return handler

    return decorate


def on_removed(artifact: str, event: str) -> Callable[[RemovalHandler], RemovalHandler]:
    def decorate(handler: RemovalHandler) -> RemovalHandler:
        register_removal_handler(artifact, event, handler)
        return handler

    return decorate


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


def _runs(events: Iterable[DecodedEvent]) -> Iterable[tuple[tuple[str, str], list[DecodedEvent]]]:
    """Consecutive events of the same kind, in order (batch handlers get each run as one list)."""
    key: tuple[str, str] | None = None
    run: list[DecodedEvent] = []
    for event in events:
        this = (event.artifact, event.name)
        if this != key and run:
            yield key, run  # type: ignore[misc]
            run = []
        key = this
        run.append(event)
    if run:
        yield key, run  # type: ignore[misc]


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
    events = list(events)
    ran = 0
    for projection in list(_projections.values()):
        keys: set = set()
        for event in events:
            if (event.artifact, event.name) in projection.kinds:
                keys.update(projection.keys(event))
        if keys:
            projection.project(keys)
            ran += 1
    return ran


def dispatch(events: Iterable[DecodedEvent]) -> int:
    """Run every registered handler for the events, in order. Returns how many handler calls ran.

    An exception propagates: the caller's DB transaction rolls back and the events are delivered
    again on the next pass, so a handler bug never half-applies a batch.
    """
    calls = 0
    events = list(events)
    for key, run in _runs(events):
        for handler, batch in _event_handlers.get(key, ()):
            if batch == "all":
                continue
            if batch:
                handler(run)
                calls += 1
            else:
                for event in run:
                    handler(event)
                    calls += 1
    by_kind: dict[tuple[str, str], list[DecodedEvent]] = {}
    for event in events:  # insertion order: each kind in the order its first event came
        by_kind.setdefault((event.artifact, event.name), []).append(event)
    for key, group in by_kind.items():
        for handler, batch in _event_handlers.get(key, ()):
            if batch == "all":
                handler(group)
                calls += 1
    return calls + project_touched(events)


def dispatch_removed(events: list[DecodedEvent]) -> int:
    by_key: dict[tuple[str, str], list[DecodedEvent]] = defaultdict(list)
    for event in events:
        by_key[(event.artifact, event.name)].append(event)
    calls = 0
    for key, group in by_key.items():
        for handler in _removal_handlers.get(key, ()):
            handler(group)
            calls += 1
    return calls + project_touched(events)
