"""Where domain apps plug into the chain side, without `blockchain` importing them.

In `AppConfig.ready()` a domain app registers:
- event handlers: `(artifact, event) -> handler(event)`, called for every decoded log of that
  event, from a receipt (confirmer) or from the indexer. Handlers must be idempotent and
  order-tolerant (an upsert keyed by what the event identifies), because both paths deliver, and
  re-ingestion after a crash or a reorg delivers again;
- compensation hooks: `kind -> hook(tx)`, called once when an outbox row of that kind fails
  (simulation revert, on-chain revert, permanent rejection), inside the same DB transaction.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from blockchain.models import ChainTransaction

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
CompensationHook = Callable[["ChainTransaction"], None]

_event_handlers: dict[tuple[str, str], list[EventHandler]] = defaultdict(list)
_compensations: dict[str, list[CompensationHook]] = defaultdict(list)


def register_event_handler(artifact: str, event: str, handler: EventHandler) -> None:
    if handler not in _event_handlers[(artifact, event)]:
        _event_handlers[(artifact, event)].append(handler)


def register_compensation(kind: str, hook: CompensationHook) -> None:
    if hook not in _compensations[kind]:
        _compensations[kind].append(hook)


def on_event(artifact: str, event: str) -> Callable[[EventHandler], EventHandler]:
    """Decorator form of `register_event_handler` (registration happens at import: import the module
    from `AppConfig.ready()`)."""

    def decorate(handler: EventHandler) -> EventHandler:
        register_event_handler(artifact, event, handler)
        return handler

    return decorate


def on_failure(kind: str) -> Callable[[CompensationHook], CompensationHook]:
    def decorate(hook: CompensationHook) -> CompensationHook:
        register_compensation(kind, hook)
        return hook

    return decorate


def handlers_for(artifact: str, event: str) -> list[EventHandler]:
    return list(_event_handlers.get((artifact, event), ()))


def dispatch(events: Iterable[DecodedEvent]) -> int:
    """Run every registered handler for each event, in order. Returns how many handler calls ran.

    An exception propagates: the caller's DB transaction rolls back and the events are delivered
    again on the next pass, so a handler bug never half-applies a batch.
    """
    calls = 0
    for event in events:
        for handler in _event_handlers.get((event.artifact, event.name), ()):
            handler(event)
            calls += 1
    return calls


def compensate(tx: ChainTransaction) -> int:
    hooks = _compensations.get(tx.kind, ())
    for hook in hooks:
        hook(tx)
    if not hooks:
        logger.info("outbox row %s (%s) failed; no compensation hook registered", tx.pk, tx.kind)
    return len(hooks)
