"""Declared intents: what a domain app asks of the chain, declared once per intent, and the one way a
domain save asks for it.

Each app describes every intent it has in one `ChainIntent` (kind, contract, function, how the
arguments and the attempt number come from the subject, the failure hook, the balances it moves) and
registers it (`register_intents`) when its intents module is imported from `AppConfig.ready()`.

A service that changes a row in a way that needs the chain says so on the instance before saving it
(`declare(loan, STORE_KIND)`); the app's post_save signal enqueues exactly what was declared on that
save (`enqueue_declared`), in the same DB transaction. A save nobody declared anything on — a
projection, a rewind, a rebuild, an admin edit of a plain field — enqueues nothing, whatever state
the row is in: intent is not observation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from blockchain.outbox.hooks import (
    BalanceEffects,
    FailureHook,
    declare_balance_effects,
    register_failure_hook,
)

if TYPE_CHECKING:
    from django.db import models

    from blockchain.models import ChainTransaction

_ATTRIBUTE = "_declared_intents"


class UnknownIntent(KeyError):
    """A kind no app registered: a programming error, raised in the caller's transaction."""


@dataclass(frozen=True)
class ChainIntent:
    """One thing a domain app asks of the chain.

    `args(subject)` builds the call's arguments and `attempt(subject)` says which attempt of this
    subject's intent this is (a retry after a failure is a new intent, so a new idempotency key).
    The subject is normally the domain row; `row(subject)` maps another subject (a mint batch) to the
    row the outbox links to. `address(subject)` targets a contract the suite created (a campaign
    clone); by default the artifact's active deployment. `on_failure(tx)` runs once, in the failing
    transaction, when an outbox row of this kind fails; `balance_effects(tx)` says whose balances
    the landed intent moves. `ordering(subject)` names the entity whose intents must reach the chain
    in the order they were asked for (they share one signer's nonce lane); by default the outbox row's
    subject. A campaign's intents (create, record, cancel, finalize, mint) all order by the campaign.
    """

    kind: str
    contract: str
    function: str
    args: Callable[[Any], Sequence[Any]]
    attempt: Callable[[Any], int]
    address: Callable[[Any], str] | None = None
    row: Callable[[Any], models.Model] | None = None
    on_failure: FailureHook | None = None
    balance_effects: BalanceEffects | None = None
    ordering: Callable[[Any], models.Model] | None = None

    def enqueue(self, subject: Any) -> ChainTransaction:
        """The outbox row of this intent for `subject` (the existing one for the same attempt)."""
        from blockchain.outbox.enqueue import enqueue, intent_key
        from blockchain.outbox.lanes import subject_ordering_key

        row = self.row(subject) if self.row else subject
        ordered_by = self.ordering(subject) if self.ordering else row
        return enqueue(
            kind=self.kind,
            contract=self.contract,
            function=self.function,
            args=list(self.args(subject)),
            address=self.address(subject) if self.address else None,
            idempotency_key=intent_key(self.kind, row, self.attempt(subject)),
            subject=row,
            ordering_key=subject_ordering_key(ordered_by),
        )


_intents: dict[str, ChainIntent] = {}


def register_intents(*intents: ChainIntent) -> dict[str, ChainIntent]:
    """Register an app's intents with their failure hooks and balance effects. Returns them by kind."""
    for intent in intents:
        known = _intents.get(intent.kind)
        if known is not None and known != intent:
            raise ValueError(f"intent kind {intent.kind!r} is declared twice, differently")
        _intents[intent.kind] = intent
        if intent.on_failure is not None:
            register_failure_hook(intent.kind, intent.on_failure)
        if intent.balance_effects is not None:
            declare_balance_effects(intent.kind, intent.balance_effects)
    return {intent.kind: intent for intent in intents}


def intent_of(kind: str) -> ChainIntent:
    try:
        return _intents[kind]
    except KeyError:
        raise UnknownIntent(f"no app declares the chain intent {kind!r}") from None


def declare(instance: Any, *kinds: str) -> None:
    """This save of `instance` asks for the intents `kinds` (each at most once)."""
    for kind in kinds:
        intent_of(kind)  # an unknown kind fails here, before anything is saved
    declared = instance.__dict__.setdefault(_ATTRIBUTE, [])
    for kind in kinds:
        if kind not in declared:
            declared.append(kind)


def take_declared(instance: Any) -> list[str]:
    """The intents declared on this save (then forgotten: the next save declares its own)."""
    return instance.__dict__.pop(_ATTRIBUTE, [])


def enqueue_declared(instance: Any) -> int:
    """post_save body: enqueue every intent declared on this save. Returns how many."""
    kinds = take_declared(instance)
    for kind in kinds:
        intent_of(kind).enqueue(instance)
    return len(kinds)
