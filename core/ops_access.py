"""Who may read the operational endpoints: `/healthz` details, `/metrics`, the API schema and docs.

Anonymous callers (a load balancer, the internet) get `/healthz`'s status code and nothing else; an
operator (session or JWT) or a caller presenting HEALTH_TOKEN gets the details. `/metrics` and the docs
are open in development and tests and closed by default when DJANGO_ENV=production (METRICS_PUBLIC,
API_DOCS_PUBLIC): a scrape then presents METRICS_TOKEN as a bearer token or comes from
METRICS_ALLOWED_IPS, and the docs need a signed-in user.
"""

from __future__ import annotations

import hmac
from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from rest_framework.exceptions import APIException

from core.api import bearer_authentication_classes
from core.request_context import client_ip
from core.secrets import Secret


def token_matches(presented: str, expected: Secret) -> bool:
    secret = expected.reveal()
    return bool(secret and presented) and hmac.compare_digest(presented.encode(), secret.encode())


def bearer_token(request) -> str:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def signed_in_user(request):
    """The session's user, or the user of a bearer token the API itself would accept (the configured
    authentication, so a revoked token is refused here too); None otherwise."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user
    for authentication in bearer_authentication_classes():
        try:
            found = authentication().authenticate(request)
        except APIException:  # an invalid, expired or revoked token
            return None
        if found:
            return found[0]
    return None


def sees_health_details(request) -> bool:
    if token_matches(request.headers.get("X-Health-Token", ""), settings.HEALTH_TOKEN):
        return True
    user = signed_in_user(request)
    return bool(user and user.is_active and user.has_role("operator"))


def may_scrape_metrics(request) -> bool:
    if settings.METRICS_PUBLIC or token_matches(bearer_token(request), settings.METRICS_TOKEN):
        return True
    return client_ip(request) in settings.METRICS_ALLOWED_IPS


def metrics_access(view):
    @wraps(view)
    def guarded(request, *args, **kwargs):
        if not may_scrape_metrics(request):
            return JsonResponse(
                {"code": "not_authenticated", "message": "Metrics need the scrape token."}, status=401
            )
        return view(request, *args, **kwargs)

    return guarded


def docs_access(view, *, page: bool):
    """The schema (`page=False`, JSON 401) and the docs pages (`page=True`, to the sign-in page)."""

    @wraps(view)
    def guarded(request, *args, **kwargs):
        if settings.API_DOCS_PUBLIC or signed_in_user(request) is not None:
            return view(request, *args, **kwargs)
        if page:
            return redirect_to_login(request.get_full_path(), login_url="/admin/login/")
        return JsonResponse(
            {"code": "not_authenticated", "message": "The API schema needs a signed-in user."}, status=401
        )

    return guarded
