"""API authentication: simplejwt's bearer JWTs, refused once their user's tokens were revoked."""

from __future__ import annotations

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt import authentication

from accounts.tokens import is_current


class JWTAuthentication(authentication.JWTAuthentication):
    def get_user(self, validated_token):
        # The user row is loaded anyway (is_active is checked there), so the check costs no query.
        user = super().get_user(validated_token)
        if not is_current(validated_token, user):
            raise AuthenticationFailed(
                "This token was revoked (password changed or account deactivated); sign in again.",
                code="token_revoked",
            )
        return user


class PlatformJWTScheme(SimpleJWTScheme):
    """The OpenAPI security scheme of this class: the same bearer JWT as simplejwt's."""

    target_class = "accounts.authentication.JWTAuthentication"
