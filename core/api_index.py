"""`GET /api/`: where a newcomer (or a frontend) starts. Public, the same for everyone, cacheable.

Every URL is the API's own path, resolved from the URL conf by name, so the index cannot point at a
route that moved; relative to the API's origin (no host, which would make the body depend on the
request). Nothing here is a secret: it is what the OpenAPI schema also says, in a few lines.
"""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from django.utils.cache import patch_cache_control
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.query_params import refuse_unknown

CACHE_SECONDS = 300

# (key, URL name, what it is). Names resolve against config/urls.py; a missing one is left out.
RESOURCES = [
    ("issuers", "issuer-list", "Issuer companies: register, KYB review, on-chain registration"),
    ("campaigns", "campaign-list", "Investment campaigns: draft, review, invest, close"),
    ("investments", "investment-list", "Investments: your own, or all for compliance"),
    ("certificates", "certificate-list", "ERC-721 share certificates of successful campaigns"),
    ("institutions", "institution-list", "Credential-issuing institutions (public)"),
    ("credentials", "credential-list", "Verifiable credentials: issue, batch, revoke"),
    ("loans", "loan-list", "Loan records anchored on chain: approve, repay, verify"),
    ("verify", "credential-verify", "Verify a credential or bundle against the chain (public)"),
    ("chain_transactions", "chain-transaction-list", "The outbox of chain writes (operators)"),
    ("chain_sync", "chain-sync", "Indexer and outbox health (operators, compliance)"),
    ("investor_profile", "investor-profile", "An investor's own limits and figures"),
]
AUTH = [
    ("register", "auth-register"),
    ("token", "auth-token"),
    ("token_refresh", "auth-token-refresh"),
    ("logout", "auth-logout"),
    ("me", "auth-me"),
    ("wallet_challenge", "auth-wallet-challenge"),
    ("wallet_verify", "auth-wallet-verify"),
]
DOCS = [("openapi", "schema"), ("swagger_ui", "swagger-ui"), ("redoc", "redoc")]


def _url(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


def api_index() -> dict:
    """The index's body: resources with their URL and purpose, the auth endpoints and the docs."""
    resources = {}
    for key, name, description in RESOURCES:
        url = _url(name)
        if url is not None:
            resources[key] = {"url": url, "description": description}
    return {
        "name": "LedgerBridge API",
        "docs": {key: url for key, name in DOCS if (url := _url(name)) is not None},
        "auth": {
            "scheme": "Bearer JWT: POST your username and password to `token`, then send "
            "`Authorization: Bearer <access>`",
            **{key: url for key, name in AUTH if (url := _url(name)) is not None},
        },
        "resources": resources,
        "health": _url("healthz"),
        "verifier_page": _url("verifier"),
    }


class ApiIndexView(APIView):
    """The API's entry point: its resources, the authentication endpoints and the documentation.
    Anyone may read it, signed in or not (a token is ignored, not checked), and caches may keep it."""

    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []  # the same answer for everyone; a stale token is no error
    pagination_class = None

    @extend_schema(
        responses=inline_serializer(
            "ApiIndex",
            {
                "name": serializers.CharField(),
                "docs": serializers.DictField(child=serializers.CharField()),
                "auth": serializers.DictField(child=serializers.CharField()),
                "resources": serializers.DictField(child=serializers.DictField()),
                "health": serializers.CharField(allow_null=True),
                "verifier_page": serializers.CharField(allow_null=True),
            },
        )
    )
    def get(self, request: Request) -> Response:
        refuse_unknown(request.query_params.keys(), ["format"])
        response = Response(api_index())
        patch_cache_control(response, public=True, max_age=CACHE_SECONDS)
        return response
