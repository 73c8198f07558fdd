"""Turning a domain entity's change into the event that describes it: derive, compare, announce.

A domain app declares, per model, how to derive the facts partners care about (the status the API
shows, which follows the chain, an owner, ...), how a change of them is named, and how the entity
reads to an operator. Whatever moved the entity — a service's save, a receipt, the indexer, a reorg
correction, a failed transaction, a rebuild — the same `refresh(pks)` derives the facts afresh and
compares them with what partners were last told (`AnnouncedFacts`); a difference is announced, in
the caller's transaction. Nothing is "un-announced" by hand: a reorg that undoes a fact is one more
difference (`<noun>.updated`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction
from django.db.models.signals import post_save

from webhooks.catalogue import is_known
from webhooks.models import AnnouncedFacts
from webhooks.services import announce, is_suppressed, listened

logger = logging.getLogger(__name__)

Facts = Mapping[str, Any]


def by_status(noun: str, named: Mapping[str, str]) -> Callable[[Facts | None, Facts], str | None]:
    """The usual naming: entering a named status is that event; leaving a named status for an unnamed
    one is `<noun>.updated` (a reorg undid the fact partners were told). Moves between unnamed
    statuses (draft, anchoring, ...) are the caller's own requests in progress: not announced."""

    def classify(before: Facts | None, after: Facts) -> str | None:
        status = after["status"]
        told = before.get("status") if before is not None else None
        if told == status:
            return None
        if status in named:
            return named[status]
        return f"{noun}.updated" if told in named else None

    return classify


def shown_status_facts(model: type[models.Model], annotate: Callable) -> Callable[[list[Any]], dict]:
    """Facts of the usual kind: {"status": the status the API shows}, read through the app's
    selector that annotates `shown_status` (it follows the outbox: `anchoring` until confirmed)."""

    def facts(pks: list[Any]) -> dict[Any, dict[str, Any]]:
        rows = annotate(model._default_manager.filter(pk__in=pks)).values_list("pk", "shown_status")
        return {pk: {"status": status} for pk, status in rows}

    return facts


@dataclass(eq=False)
class Announcer:
    model: type[models.Model]
    # {pk: facts} of the given rows, derived from the database as the API would show them.
    facts: Callable[[list[Any]], dict[Any, dict[str, Any]]]
    classify: Callable[[Facts | None, Facts], str | None]
    represent: Callable[[Any], dict]  # pk -> the operator's REST representation
    event_types: frozenset[str] = frozenset()
    # Other models whose chain state this model's facts follow: {model: pk -> this model's pks}
    # (a batched credential's status follows its batch's anchoring).
    follows: Mapping[type[models.Model], Callable[[Any], Iterable[Any]]] = field(default_factory=dict)
    _connected: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        unknown = [t for t in self.event_types if not is_known(t)]
        if unknown:
            raise ValueError(f"{self.model.__name__} announces unknown event types {unknown}")

    @property
    def label(self) -> str:
        return self.model._meta.label_lower

    def refresh(self, pks: Iterable[Any]) -> int:
        """Announce what changed about these entities since partners were last told. Returns how many
        events. Costs nothing when no endpoint listens to this model's events."""
        pks = [pk for pk in dict.fromkeys(pks) if pk is not None]
        if not pks or is_suppressed() or not listened(self.event_types):
            return 0
        current = self.facts(pks)
        told = {
            row.subject_id: row
            for row in AnnouncedFacts.objects.select_for_update().filter(
                subject_type=self.label, subject_id__in=[str(pk) for pk in current]
            )
        }
        announced, new_rows, changed_rows = 0, [], []
        for pk, facts in current.items():
            row = told.get(str(pk))
            if row is not None and row.facts == facts:
                continue
            event_type = self.classify(row.facts if row is not None else None, facts)
            if event_type is not None:
                announce(event_type, data=lambda pk=pk: self.represent(pk), subject=_Subject(self.model, pk))
                announced += 1
            if row is None:
                new_rows.append(AnnouncedFacts(subject_type=self.label, subject_id=str(pk), facts=facts))
            else:
                row.facts = facts
                changed_rows.append(row)
        AnnouncedFacts.objects.bulk_create(new_rows, ignore_conflicts=True)
        AnnouncedFacts.objects.bulk_update(changed_rows, ["facts"])
        return announced

    def refresh_all(self, *, chunk: int = 5_000) -> int:
        """Every entity (after a rebuild)."""
        if not listened(self.event_types):
            return 0
        total = 0
        pks = list(self.model._default_manager.order_by("pk").values_list("pk", flat=True))
        for start in range(0, len(pks), chunk):
            with transaction.atomic():
                total += self.refresh(pks[start : start + chunk])
        return total

    # -- a service's save() ------------------------------------------------------------------------
    def _saved(self, sender, instance, raw: bool = False, **_kwargs) -> None:
        if not raw:
            self.refresh([instance.pk])

    def connect(self) -> Announcer:
        """Refresh after every save of the model. Connect it after the app's intent signals, so the
        facts derived see the outbox row a save declared (a cancel reads `cancelling`)."""
        if not self._connected:
            post_save.connect(
                self._saved, sender=self.model, dispatch_uid=f"webhooks.{self.label}", weak=False
            )
            self._connected = True
        _registry[self.model] = self
        return self


class _Subject:
    """Enough of a model instance for `announce(subject=...)` without loading the row."""

    def __init__(self, model: type[models.Model], pk: Any) -> None:
        self._meta, self.pk = model._meta, pk


_registry: dict[type[models.Model], Announcer] = {}


def refresh_subject(model: type[models.Model] | None, pk: Any) -> int:
    """Refresh what follows one row of any model: the entity itself if it is announced, and the
    entities whose facts follow it (the outbox names its subjects by content type, without
    knowing their apps)."""
    if model is None or pk is None:
        return 0
    total = 0
    for announcer in list(_registry.values()):
        if announcer.model is model:
            total += announcer.refresh([pk])
        dependents = announcer.follows.get(model)
        if dependents is not None and listened(announcer.event_types):
            total += announcer.refresh(dependents(pk))
    return total


def refresh_everything() -> int:
    """Every announced entity of every model (the end of a rebuild)."""
    return sum(announcer.refresh_all() for announcer in list(_registry.values()))


def status_announcer(
    *,
    model: type[models.Model],
    noun: str,
    named: Mapping[str, str],
    annotate: Callable,
    represent: Callable[[Any], dict],
    follows: Mapping[type[models.Model], Callable[[Any], Iterable[Any]]] | None = None,
) -> Announcer:
    """The usual announcer: facts are the status the API shows (`annotate` is the app's selector),
    named statuses are their events, leaving one is `<noun>.updated`."""
    return Announcer(
        model=model,
        facts=shown_status_facts(model, annotate),
        classify=by_status(noun, named),
        represent=represent,
        event_types=frozenset([*named.values(), f"{noun}.updated"]),
        follows=follows or {},
    )
