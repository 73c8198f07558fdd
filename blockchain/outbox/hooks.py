"""Where the rest of the platform plugs into the write path, without the outbox importing it.

Registered in `AppConfig.ready()`:
- failure hooks, per intent kind: `hook(tx)`, called once when an outbox row of that kind fails
  (simulation revert, on-chain revert, permanent rejection), inside the same DB transaction;
- balance effects, per intent kind: `effects(tx) -> [BalanceEffect]`, what the intent moves for whom
  (a certificate mint: +1 certificate for each owner). The wallets app reads them for pending deltas
  and to mark balances stale; nobody parses another app's call arguments;
- row listeners: told about outbox rows whose chain state just moved (enqueued, broadcast, landed,
  failed). They must not raise into the outbox; errors are logged;
- the confirmed-logs observer: the indexing side, handed each confirmed receipt's raw logs inside the
  confirmer's DB transaction, so an event is stored and handled the same way whichever path sees it
  first; and the orphaned-receipts observer, told when a receipt it applied left the chain;
- checkpoints: named points on the write path that development tooling may observe (the fault tests'
  crash points); production installs none.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from blockchain.models import ChainTransaction

logger = logging.getLogger(__name__)

NATIVE = "native"  # the chain's coin, as a BalanceEffect token


@dataclass(frozen=True)
class BalanceEffect:
    """`holder`'s balance of `token` (a contract address, or NATIVE) changes by `delta` base units
    (for an ERC-721: tokens) once the intent lands."""

    holder: str
    token: str
    delta: int


FailureHook = Callable[["ChainTransaction"], None]
BalanceEffects = Callable[["ChainTransaction"], Iterable[BalanceEffect]]
RowListener = Callable[[list["ChainTransaction"]], None]
ConfirmedLogsObserver = Callable[[list[tuple[int, list[dict]]]], int]
Checkpoint = Callable[[str], None]

_failure_hooks: dict[str, list[FailureHook]] = defaultdict(list)
_balance_effects: dict[str, BalanceEffects] = {}
_row_listeners: list[RowListener] = []
_confirmed_logs_observer: list[ConfirmedLogsObserver] = []
_orphaned_receipts_observer: list[Callable[[list[tuple[str, str]]], int]] = []
_checkpoints: list[Checkpoint] = []


def register_failure_hook(kind: str, hook: FailureHook) -> None:
    if hook not in _failure_hooks[kind]:
        _failure_hooks[kind].append(hook)


def compensate(tx: ChainTransaction) -> int:
    """Run the failure hooks of `tx`'s kind. Returns how many ran."""
    hooks = _failure_hooks.get(tx.kind, ())
    for hook in hooks:
        hook(tx)
    if not hooks:
        logger.info("outbox row %s (%s) failed; no failure hook registered", tx.pk, tx.kind)
    return len(hooks)


def declare_balance_effects(kind: str, effects: BalanceEffects) -> None:
    """What an intent of `kind` changes in whose balances (one declaration per kind)."""
    _balance_effects[kind] = effects


def balance_effects(tx: ChainTransaction) -> list[BalanceEffect]:
    """The declared effects of one outbox row ([] for a kind that moves no tracked balance)."""
    effects = _balance_effects.get(tx.kind)
    return list(effects(tx)) if effects is not None else []


def on_rows_changed(listener: RowListener) -> RowListener:
    if listener not in _row_listeners:
        _row_listeners.append(listener)
    return listener


def rows_changed(rows: list[ChainTransaction]) -> None:
    """Tell the listeners; never raises (they are caches, and the outbox's work must go on)."""
    if not rows:
        return
    for listener in list(_row_listeners):
        try:
            listener(rows)
        except Exception:
            logger.exception("outbox row listener %s failed for %d rows", listener, len(rows))


def observe_confirmed_logs(observer: ConfirmedLogsObserver) -> None:
    """The one observer of confirmed receipts' logs (the indexing side registers it)."""
    _confirmed_logs_observer[:] = [observer]


def confirmed_logs(items: list[tuple[int, list[dict]]]) -> int:
    """Hand `(outbox row id, raw receipt logs)` of confirmed rows to the observer, in the caller's DB
    transaction. Without an observer the confirmer must not confirm (the events would be lost)."""
    if not items:
        return 0
    if not _confirmed_logs_observer:
        raise RuntimeError("no observer of confirmed receipt logs is registered (blockchain app not ready?)")
    return _confirmed_logs_observer[0](items)


def observe_orphaned_receipts(observer: Callable[[list[tuple[str, str]]], int]) -> None:
    """The one observer of receipts a reorg took away (the indexing side registers it)."""
    _orphaned_receipts_observer[:] = [observer]


def receipts_orphaned(items: list[tuple[str, str]]) -> int:
    """`(tx hash, block hash)` of receipts the confirmer had applied and the chain no longer has
    there: what they said is withdrawn now, in the caller's DB transaction, whether or not the
    indexer ever saw that block."""
    if not items or not _orphaned_receipts_observer:
        return 0
    return _orphaned_receipts_observer[0](items)


def add_checkpoint(checkpoint: Checkpoint) -> None:
    if checkpoint not in _checkpoints:
        _checkpoints.append(checkpoint)


def checkpoint(name: str) -> None:
    """A named point on the write path (e.g. "after_broadcast"): costs one list check when nothing
    observes it, as in production."""
    for observer in _checkpoints:
        observer(name)
