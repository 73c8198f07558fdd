"""Collecting what one action changed: an audit scope, and model-signal receivers that fill it.

A scope is open for the length of one unsafe HTTP request (API and admin) or one audited management
command. While it is open, every save or delete of a domain row is recorded as a field-level
before/after diff, and every outbox row created is remembered as the action's chain transaction.
Celery tasks and the indexer open no scope: chain-derived changes are the chain's, not a person's,
and they are traceable through the outbox and ChainEvent rows.
"""

from __future__ import annotations

import json
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Model
from django.db.models.signals import post_delete, post_save, pre_save

# Domain apps whose rows are audited, plus the outbox (recorded as the action's transactions).
AUDITED_APPS = frozenset({"accounts", "issuers", "campaigns", "credentials", "loans"})
OUTBOX_MODEL = "blockchain.chaintransaction"
# Also audited from infrastructure apps: what an operator edits by hand in the admin.
AUDITED_MODELS = frozenset(
    {"blockchain.watchedcontract", "blockchain.contractdeployment", "auth.group", "webhooks.webhookendpoint"}
)
# Values of these fields never enter the audit log; a change is recorded as "[redacted]".
_SENSITIVE = ("password", "secret", "private_key", "token")
_MAX_VALUE_CHARS = 500
REDACTED = "[redacted]"


@dataclass
class AuditScope:
    source: str
    action: str = ""
    actor: Any = None
    actor_label: str = ""
    ip: str | None = None
    request_id: str = ""
    changes: list[dict] = field(default_factory=list)
    outbox_ids: list[int] = field(default_factory=list)
    # Row values read just before an update, by (model label, pk).
    before: dict[tuple[str, Any], dict[str, Any]] = field(default_factory=dict)

    def touched(self, label: str) -> list[dict]:
        return [change for change in self.changes if change["model"] == label]


_scope: ContextVar[AuditScope | None] = ContextVar("audit_scope", default=None)


def current_scope() -> AuditScope | None:
    return _scope.get()


def open_scope(scope: AuditScope):
    return _scope.set(scope)


def close_scope(token) -> None:
    _scope.reset(token)


def _label(model: type[Model]) -> str:
    return model._meta.label_lower


def _audited(model: type[Model]) -> bool:
    return model._meta.app_label in AUDITED_APPS or _label(model) in AUDITED_MODELS


def is_sensitive(name: str) -> bool:
    return any(word in name for word in _SENSITIVE)


def _plain(value: Any, places: int | None = None) -> Any:
    """A JSON-safe, bounded rendering of a field value (decimals at the column's scale, so an
    in-memory 1.500000 and the stored 1.50 are the same value)."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Decimal):
        return f"{value:.{places}f}" if places is not None and value.is_finite() else str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        value = "0x" + bytes(value).hex()
    elif not isinstance(value, str):
        value = json.dumps(value, default=str, sort_keys=True)
    return value if len(value) <= _MAX_VALUE_CHARS else value[:_MAX_VALUE_CHARS] + "…"


def _fields(model: type[Model], update_fields) -> list[tuple[str, str, int | None]]:
    """(field name, attname, decimal places) of the concrete fields a save writes."""
    names = set(update_fields) if update_fields else None
    return [
        (f.name, f.attname, getattr(f, "decimal_places", None))
        for f in model._meta.concrete_fields
        if not f.primary_key and (names is None or f.name in names or f.attname in names)
    ]


def _values(instance: Model, fields: list[tuple[str, str, int | None]]) -> dict[str, Any]:
    return {name: _plain(getattr(instance, attname), places) for name, attname, places in fields}


def _on_pre_save(sender, instance, raw=False, update_fields=None, **_kwargs) -> None:
    scope = _scope.get()
    if scope is None or raw or instance._state.adding or instance.pk is None:
        return
    fields = _fields(sender, update_fields)
    # One read per audited update, only inside a scope: the price of a true "before" value.
    row = sender._base_manager.filter(pk=instance.pk).values(*[attname for _, attname, _ in fields]).first()
    if row is not None:
        scope.before[(_label(sender), instance.pk)] = {
            name: _plain(row[attname], places) for name, attname, places in fields
        }


def _on_post_save(sender, instance, created=False, raw=False, update_fields=None, **_kwargs) -> None:
    scope = _scope.get()
    if scope is None or raw:
        return
    label = _label(sender)
    if label == OUTBOX_MODEL:
        if created:
            scope.outbox_ids.append(instance.pk)
        return
    after = _values(instance, _fields(sender, update_fields))
    if created:
        diff = {name: [None, value] for name, value in after.items() if value not in (None, "", [], {})}
        op = "create"
    else:
        before = scope.before.pop((label, instance.pk), {})
        diff = {name: [before.get(name), value] for name, value in after.items() if before.get(name) != value}
        op = "update"
        if not diff:
            return
    for name in diff:
        if is_sensitive(name):
            diff[name] = [REDACTED if diff[name][0] is not None else None, REDACTED]
    scope.changes.append({"model": label, "pk": str(instance.pk), "op": op, "fields": diff})


def _on_post_delete(sender, instance, **_kwargs) -> None:
    scope = _scope.get()
    if scope is None:
        return
    before = {
        name: (REDACTED if is_sensitive(name) else value)
        for name, value in _values(instance, _fields(sender, None)).items()
    }
    scope.changes.append(
        {
            "model": _label(sender),
            "pk": str(instance.pk),
            "op": "delete",
            "fields": {k: [v, None] for k, v in before.items()},
        }
    )


def connect() -> None:
    """Receivers for the audited models only: a delete listener on a model turns off Django's fast
    (single-statement) delete for it, which the indexer's pruning and rebuild rely on."""
    from django.apps import apps

    for model in apps.get_models():
        label = _label(model)
        if label == OUTBOX_MODEL:
            post_save.connect(_on_post_save, sender=model, dispatch_uid=f"audit_post_save:{label}")
        elif _audited(model):
            pre_save.connect(_on_pre_save, sender=model, dispatch_uid=f"audit_pre_save:{label}")
            post_save.connect(_on_post_save, sender=model, dispatch_uid=f"audit_post_save:{label}")
            post_delete.connect(_on_post_delete, sender=model, dispatch_uid=f"audit_post_delete:{label}")
