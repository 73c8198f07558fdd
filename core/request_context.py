"""Who and what a line of work belongs to: the request id, the Celery task, the client's IP.

One request id follows a request from nginx (`X-Request-ID: $request_id`) through Django, its log
lines, the Celery tasks it enqueues and its audit event; a task's log lines carry the task id.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

from django.conf import settings

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
task_id_var: ContextVar[str | None] = ContextVar("task_id", default=None)
task_name_var: ContextVar[str | None] = ContextVar("task_name", default=None)

REQUEST_ID_HEADER = "X-Request-ID"
# An id from outside is kept only if it is short and plain: it ends up in logs and CSV exports.
_ACCEPTABLE_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


def new_request_id() -> str:
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    return request_id_var.get()


def client_ip(request) -> str | None:
    """The client's address. Behind `NUM_PROXIES` trusted proxies (nginx: 1) the right-most
    untrusted X-Forwarded-For entry; otherwise REMOTE_ADDR, so a client cannot choose its own IP."""
    remote = request.META.get("REMOTE_ADDR") or None
    proxies = settings.NUM_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if not proxies or not forwarded:
        return remote
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    if not hops:
        return remote
    return hops[-min(proxies, len(hops))]


class RequestIdMiddleware:
    """Adopts the proxy's request id (or makes one), exposes it to logs and echoes it back."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _ACCEPTABLE_ID.match(incoming) else new_request_id()
        request.request_id = request_id
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


# A bearer token checked once per request: the idempotency middleware must know the user before the
# view runs, and DRF authenticates again inside the view. The second check reuses the first's result
# for the same Authorization header (a token, its signature, expiry and revocation checked once).
_BEARER_ATTR = "_bearer_authentication"


def remember_bearer(request, header: str, result) -> None:
    setattr(request, _BEARER_ATTR, (header, result))


def remembered_bearer(request, header: str):
    """(user, token) from an earlier check of the same header in this request, else None."""
    remembered = getattr(request, _BEARER_ATTR, None)
    return remembered[1] if remembered is not None and remembered[0] == header else None
