"""API conventions shared by every app: error bodies, domain errors, pagination.

Every error body is JSON: {"code": <stable machine code>, "message": <human text>, ...}; validation
errors add "errors": {field: [messages]}.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


class DomainError(Exception):
    """A business rule said no. Services raise these; the API maps them to a status code."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.extra = extra


class StateConflict(DomainError):
    """The resource's current state does not allow the operation (409)."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class NotAllowed(DomainError):
    status_code = status.HTTP_403_FORBIDDEN
    default_code = "permission_denied"


class NotFound(DomainError):
    status_code = status.HTTP_404_NOT_FOUND
    default_code = "not_found"


def bearer_authentication_classes() -> list[type]:
    """The API's configured authentication (with its revocation checks) without sessions: for
    endpoints anyone may call, where a token only widens the answer and an anonymous POST must never
    meet a CSRF check because the browser happens to carry an admin session."""
    from rest_framework.authentication import SessionAuthentication
    from rest_framework.settings import api_settings

    return [
        a for a in api_settings.DEFAULT_AUTHENTICATION_CLASSES if not issubclass(a, SessionAuthentication)
    ]


# What a caller is told when the node cannot be read: never the exception (it can carry the node URL,
# whose path holds a hosted provider's API key); the details go to the log, redacted.
PUBLIC_CHAIN_UNAVAILABLE = "The chain cannot be read right now; try again shortly."


class ChainUnavailable(DomainError):
    """An explicit chain read (verification, chain fallback) could not reach the node (503)."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "chain_unavailable"


class NotConfigured(Exception):
    """A part of the platform an operator has not set up yet: answered 503 with a fixed public
    message (the exception's own text goes to the log only)."""

    code = "not_configured"
    public_message = "This part of the platform is not configured yet."


def _first_code(codes: Any, default: str) -> str:
    if isinstance(codes, str):
        return codes
    if isinstance(codes, list) and codes:
        return _first_code(codes[0], default)
    if isinstance(codes, dict) and codes:
        return _first_code(next(iter(codes.values())), default)
    return default


def _message_of(detail: Any) -> str:
    if isinstance(detail, list) and detail:
        return _message_of(detail[0])
    if isinstance(detail, dict) and detail:
        return _message_of(next(iter(detail.values())))
    return str(detail)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DomainError):
        return Response({"code": exc.code, "message": exc.message, **exc.extra}, status=exc.status_code)
    if isinstance(exc, NotConfigured):  # e.g. an operator has not run deploy_contracts on this chain
        logger.error("request refused, not configured: %s", exc)
        return Response(
            {"code": exc.code, "message": exc.public_message},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail=detail)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, RecursionError):  # a JSON body nested deeper than Python parses
        exc = exceptions.ParseError("The JSON is nested too deeply.")
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: Django's 500 handler answers with JSON and logs it
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = {
            "code": _first_code(exc.get_codes(), "invalid"),
            "message": "Invalid input: " + _message_of(detail),
            "errors": detail,
        }
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        code = _first_code(exc.get_codes(), exc.default_code)
        body: dict[str, Any] = {"code": code, "message": _message_of(detail)}
        if isinstance(detail, dict):
            # simplejwt puts its own structured reasons here; keep them.
            body.update({k: v for k, v in detail.items() if k not in ("detail", "code")})
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            body["retry_after"] = int(exc.wait)
        response.data = body
    return response


def _is_html_page(request) -> bool:
    """The admin and the public verifier are pages for people: their errors are HTML pages."""
    return request.path.startswith(("/admin/", "/verify/"))


def not_found_view(request, exception=None):
    if _is_html_page(request):
        return defaults.page_not_found(request, exception)
    return JsonResponse({"code": "not_found", "message": "Not found."}, status=404)


def server_error_view(request):
    if _is_html_page(request):
        return defaults.server_error(request)
    return JsonResponse({"code": "server_error", "message": "Internal server error."}, status=500)


def bad_request_view(request, exception=None):
    if _is_html_page(request):
        return defaults.bad_request(request, exception)
    return JsonResponse({"code": "bad_request", "message": "Bad request."}, status=400)


def permission_denied_view(request, exception=None):
    if _is_html_page(request):
        return defaults.permission_denied(request, exception)
    return JsonResponse({"code": "permission_denied", "message": "Permission denied."}, status=403)


def role_required(*roles: str) -> type[BasePermission]:
    """A DRF permission: an authenticated user with one of `roles` (superusers always pass)."""

    class HasRole(BasePermission):
        message = f"This needs one of the roles: {', '.join(roles)}."

        def has_permission(self, request, view) -> bool:
            user = request.user
            return bool(user and user.is_authenticated and (user.is_superuser or user.role in roles))

    HasRole.__name__ = "HasRole_" + "_".join(roles)
    return HasRole


class StandardPagination(PageNumberPagination):
    """Page numbers, with `page` and `page_size` refused (400) unless they are positive integers: a
    client that sends `page_size=false` learns its mistake instead of getting the default size."""

    page_size_query_param = "page_size"
    max_page_size = 200

    def get_schema_operation_parameters(self, view):
        """`page` and `page_size` as they are validated: positive integers (a larger page size reads as
        the largest, `max_page_size`)."""
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] += (
                    f" (at most {self.max_page_size}; more reads as {self.max_page_size})"
                )
        return parameters

    def first_page(self, rows: list, count: int, request) -> list:
        """What `paginate_queryset` answers for the first page when the caller read that page's
        `rows` and the total `count` itself (one statement: e.g. campaigns.selectors's), so that
        `get_paginated_response` gives the same `count`, `next` and `previous`."""
        self.request = request
        paginator = self.django_paginator_class(rows, self.get_page_size(request))
        paginator.count = count  # a cached_property: the total given, not len(rows)
        self.page = paginator.page(1)
        if paginator.num_pages > 1 and self.template is not None:
            self.display_page_controls = True
        return list(self.page)

    def paginate_queryset(self, queryset, request, view=None):
        for name in (self.page_query_param, self.page_size_query_param):
            raw = request.query_params.get(name)
            if raw is not None and not (raw.isascii() and raw.isdigit() and int(raw) > 0):
                raise exceptions.ValidationError({name: ["A positive integer is required."]})
        return super().paginate_queryset(queryset, request, view)
