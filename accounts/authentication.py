"""API authentication: simplejwt's bearer JWTs, refused once their user's tokens were revoked.

The user row is read on every request (nothing cached: a deactivation, a revocation or a role change
written anywhere, even straight into the table, counts from the next request), but by one statement
built once per process (`_UserRead`) instead of a queryset the ORM builds and compiles each time."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import connections, router
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed as JWTAuthenticationFailed
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings

from accounts.models import User
from accounts.tokens import is_current
from core.request_context import remember_bearer, remembered_bearer
from core.rows import prepared_cursor

_BIGINT_MAX = 2**63 - 1


class _UserRead:
    """`SELECT <every column but the password hash> FROM accounts_user WHERE id = %s`, compiled once.

    The row becomes a User as the ORM would build it (`from_db`); the password hash is left deferred,
    so it is never read for a request, a `save()` writes only the loaded fields, and code that does
    read `user.password` loads it then."""

    def __init__(self) -> None:
        self.fields = [f for f in User._meta.concrete_fields if f.attname != "password"]
        self.names = [f.attname for f in self.fields]
        self.sql: dict[str, str] = {}

    def _sql(self, alias: str) -> str:
        sql = self.sql.get(alias)
        if sql is None:
            quote = connections[alias].ops.quote_name
            columns = ", ".join(quote(f.column) for f in self.fields)
            table, key = quote(User._meta.db_table), quote(User._meta.pk.column)
            sql = f"SELECT {columns} FROM {table} WHERE {key} = %s"  # noqa: S608  # nosec B608 (names from _meta)
            self.sql[alias] = sql
        return sql

    def __call__(self, pk: int) -> User | None:
        alias = router.db_for_read(User)
        with prepared_cursor(alias) as cursor:
            cursor.execute(self._sql(alias), [pk])
            row = cursor.fetchone()
        return None if row is None else User.from_db(alias, self.names, row)


read_user = _UserRead()


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
        # simplejwt's checks and messages (user_not_found, user_inactive), with one precompiled
        # statement for the row; the token generation is checked on the same row, so it costs no query.
        if api_settings.CHECK_REVOKE_TOKEN or User._meta.pk.name != api_settings.USER_ID_FIELD:
            return self._get_user_by_orm(validated_token)  # settings this read does not cover
        try:
            claim = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as exc:
            raise InvalidToken(_("Token contained no recognizable user identification")) from exc
        try:
            pk = User._meta.pk.to_python(claim)
        except (ValueError, TypeError, ValidationError):  # a signed claim that is no valid id
            raise AuthenticationFailed(_("User not found"), code="user_not_found") from None
        user = read_user(pk) if isinstance(pk, int) and 0 < pk <= _BIGINT_MAX else None
        # simplejwt's own exceptions (their body's code is `authentication_failed`), as before
        if user is None:
            raise JWTAuthenticationFailed(_("User not found"), code="user_not_found")
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise JWTAuthenticationFailed(_("User is inactive"), code="user_inactive")
        self._check_generation(validated_token, user)
        return user

    def _get_user_by_orm(self, validated_token):
        try:
            user = super().get_user(validated_token)
        except (ValueError, TypeError, ValidationError):  # a signed claim that is no valid id
            raise AuthenticationFailed(_("User not found"), code="user_not_found") from None
        self._check_generation(validated_token, user)
        return user

    @staticmethod
    def _check_generation(validated_token, user) -> None:
        if not is_current(validated_token, user):
            raise AuthenticationFailed(
                "This token was revoked (password changed or account deactivated); sign in again.",
                code="token_revoked",
            )


class PlatformJWTScheme(SimpleJWTScheme):
    """The OpenAPI security scheme of this class: the same bearer JWT as simplejwt's."""

    target_class = "accounts.authentication.JWTAuthentication"
