"""Writing audit events: from an HTTP request (API and admin) or around a management command."""

from __future__ import annotations

import getpass
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib.auth import get_user_model

from audit.capture import AuditScope, close_scope, is_sensitive, open_scope
from audit.models import AuditEvent, AuditSource
from core.request_context import client_ip, current_request_id

logger = logging.getLogger(__name__)

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _actor_fields(user: Any) -> dict[str, Any]:
    if user is None or not getattr(user, "is_authenticated", False):
        return {}
    role = getattr(user, "role", "") or ""
    if user.is_superuser:
        role = f"{role}+superuser" if role else "superuser"
    return {"actor": user, "actor_label": user.get_username(), "role": role}


def _signed_in_user(scope: AuditScope) -> Any:
    """A login changes only the user's last_login: that user is the actor of an anonymous request."""
    user_label = get_user_model()._meta.label_lower
    for change in scope.touched(user_label):
        if change["op"] == "update" and set(change["fields"]) == {"last_login"}:
            return get_user_model().objects.filter(pk=change["pk"]).first()
    return None


def _primary_subject(scope: AuditScope, hint: tuple[str, str] | None) -> tuple[str, str]:
    """What the action was about, as (model label, primary key): the row of the URL's model that it
    changed (a transition before a creation), else the object the URL names, else the first row it
    changed at all."""
    model, url_id = hint or ("", "")
    for op in ("update", "create", "delete"):
        for change in scope.changes:
            if change["op"] == op and (change["model"] == model or not model):
                return change["model"], change["pk"]
    return (model, url_id) if model else ("", "")


def write_event(
    scope: AuditScope,
    *,
    method: str = "",
    path: str = "",
    status_code: int | None = None,
    subject_hint: tuple[str, str] | None = None,
    outcome: str = "",
) -> AuditEvent:
    """Store what `scope` collected as one AuditEvent."""
    actor = _actor_fields(scope.actor) or _actor_fields(_signed_in_user(scope))
    subject_type, subject_id = _primary_subject(scope, subject_hint)
    return AuditEvent.objects.create(
        source=scope.source,
        actor=actor.get("actor"),
        actor_label=actor.get("actor_label", scope.actor_label)[:150],
        role=actor.get("role", "")[:32],
        action=scope.action[:200],
        method=method,
        path=path[:500],
        status_code=status_code,
        subject_type=subject_type[:100],
        subject_id=str(subject_id)[:100],
        ip=scope.ip,
        request_id=scope.request_id[:64],
        changes=scope.changes,
        outbox_ids=scope.outbox_ids,
        outcome=outcome[:200],
    )


def _request_action(request, source: str) -> str:
    match = getattr(request, "resolver_match", None)
    name = (match.view_name if match else "") or request.path
    if source == AuditSource.ADMIN and request.POST.get("action"):
        name = f"{name}:{request.POST['action']}"  # a changelist action (approve, reject, export …)
    return name


def _subject_hint(request) -> tuple[str, str] | None:
    """(model label, pk) from the URL: DRF views name their model through `queryset`; the admin's
    URL names carry app and model."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return None
    pk = next((str(v) for k, v in match.kwargs.items() if k in ("pk", "object_id", "id", "loan_id")), "")
    view_class = getattr(match.func, "cls", None) or getattr(match.func, "view_class", None)
    queryset = getattr(view_class, "queryset", None)
    if queryset is not None:
        return queryset.model._meta.label_lower, pk
    model_admin = getattr(match.func, "model_admin", None)
    if model_admin is not None:
        return model_admin.model._meta.label_lower, pk
    return None


class AuditMiddleware:
    """Records every API call and admin request that changed rows or queued a chain write.

    Only responses below 400 count: a refused request's writes were rolled back with its
    transaction, so they never happened.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in UNSAFE_METHODS:
            return self.get_response(request)
        source = AuditSource.ADMIN if request.path.startswith("/admin/") else AuditSource.API
        if source == AuditSource.API and not request.path.startswith("/api/"):
            return self.get_response(request)  # /verify/ page: a public read, not a state change
        scope = AuditScope(source=source, ip=client_ip(request), request_id=current_request_id() or "")
        token = open_scope(scope)
        try:
            response = self.get_response(request)
        finally:
            close_scope(token)
        if response.status_code >= 400 or not (scope.changes or scope.outbox_ids):
            # Refused, or a read that happens to be a POST (verification, token refresh, an admin
            # page posting back a form with errors): nothing changed, nothing to audit.
            return response
        scope.actor = getattr(request, "user", None)
        scope.action = _request_action(request, source)
        try:
            write_event(
                scope,
                method=request.method,
                path=request.path,
                status_code=response.status_code,
                subject_hint=_subject_hint(request),
            )
        except Exception:
            # The change is committed; losing its audit row is an incident, not a reason to fail it.
            logger.exception("audit event for %s %s could not be written", request.method, request.path)
        return response


@contextmanager
def command_scope(*, name: str, options: dict[str, Any]) -> Iterator[AuditScope]:
    """Audit a management command: one event with the OS user, the options and what it changed."""
    shown = {
        k: v
        for k, v in sorted(options.items())
        if k not in _COMMAND_NOISE and v not in (None, False) and not is_sensitive(k)
    }
    scope = AuditScope(
        source=AuditSource.COMMAND,
        action=f"command:{name}",
        actor_label=_os_user(),
        request_id=current_request_id() or "",
    )
    token = open_scope(scope)
    outcome = ""
    try:
        yield scope
    except BaseException as exc:
        outcome = f"failed: {type(exc).__name__}: {exc}"
        scope.changes = []  # rolled back with the command's transaction, or half-done: see outcome
        raise
    finally:
        close_scope(token)
        scope.action = (scope.action + " " + " ".join(f"--{k}={v}" for k, v in shown.items())).strip()
        try:
            write_event(scope, outcome=outcome)
        except Exception:
            logger.exception("audit event for command %s could not be written", name)


_COMMAND_NOISE = frozenset(
    {"verbosity", "settings", "pythonpath", "traceback", "no_color", "force_color", "skip_checks", "stdout"}
)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers with arbitrary uids)
        return "unknown"


def record_system_event(
    *, action: str, subject: Any, changes: list[dict] | None = None, outcome: str = ""
) -> AuditEvent:
    """An audit event for a decision the platform took by itself (no request, no command), in the
    caller's transaction."""
    return AuditEvent.objects.create(
        source=AuditSource.SYSTEM,
        actor_label="platform",
        action=action[:200],
        subject_type=subject._meta.label_lower,
        subject_id=str(subject.pk),
        request_id=(current_request_id() or "")[:64],
        changes=changes or [],
        outcome=outcome[:200],
    )


def record_endpoint_disabled(sender: Any, *, endpoint: Any, reason: str, **_kwargs: Any) -> None:
    """The audit trail of a webhook endpoint the platform switched off for failing."""
    record_system_event(
        action="webhooks.endpoint_disabled",
        subject=endpoint,
        changes=[
            {
                "model": endpoint._meta.label_lower,
                "pk": str(endpoint.pk),
                "op": "update",
                "fields": {"active": [True, False]},
            }
        ],
        outcome=reason,
    )
