"""API authentication: simplejwt's bearer JWTs, refused once their user's tokens were revoked."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt import authentication

from accounts.tokens import is_current
from core.request_context import remember_bearer, remembered_bearer


class JWTAuthentication(authentication.JWTAuthentication):
    def authenticate(self, request):
        # DRF's Request wraps Django's: the result is remembered on Django's, which lives for the
        # whole request (the idempotency middleware authenticated it before the view).
        raw = getattr(request, "_request", request)
        header = raw.META.get("HTTP_AUTHORIZATION", "")
        if header and (known := remembered_bearer(raw, header)) is not None:
            return known
        result = super().authenticate(request)
        if header and result is not None:
            remember_bearer(raw, header, result)
        return result

    def get_user(self, validated_token):
        # The user row is loaded anyway (is_active is checked there), so the check costs no query.
        try:
            user = super().get_user(validated_token)
        except (ValueError, TypeError, ValidationError):  # a signed claim that is no valid id
            raise AuthenticationFailed("User not found", code="user_not_found") from None
        if not is_current(validated_token, user):
            raise AuthenticationFailed(
                "This token was revoked (password changed or account deactivated); sign in again.",
                code="token_revoked",
            )
        return user


class PlatformJWTScheme(SimpleJWTScheme):
    """The OpenAPI security scheme of this class: the same bearer JWT as simplejwt's."""

    target_class = "accounts.authentication.JWTAuthentication"
