"""API authentication: simplejwt's bearer JWTs, refused once their user's tokens were revoked.

The user row is read on every request (nothing cached: a deactivation, a revocation or a role change
written anywhere, even straight into the table, counts from the next request), but by one statement
built once per process (`_UserRead`) instead of a queryset the ORM builds and compiles each time.
What a token's bytes say (signature, claims, type) is checked once per process and remembered until
the token expires (`_VerifiedTokens`); its expiry is checked again on every request."""

from __future__ import annotations

import threading
import time

from django.core.exceptions import ValidationError
from django.db import connections, router
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed as JWTAuthenticationFailed
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import BlacklistMixin

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


class _VerifiedTokens:
    """Access tokens this process has verified, by their exact bytes, until they expire.

    Verifying a bearer JWT (base64, JSON, HMAC, claims, type) costs about 0.1 ms, and a client sends
    the same token with every request until it expires. The same bytes verify the same way every
    time, except for time: `exp` is checked again on each use (with simplejwt's LEEWAY, as its own
    check does), and an expired entry is dropped and goes through the full verification, which
    refuses it with simplejwt's own message. `nbf` and `iat` were in the past when the token was
    verified, so they still are. Nothing about the user is remembered here: the row (active, token
    generation) is read on every request. Bounded and first-in-first-out; per process, so a new
    signing key (a restart) starts empty."""

    def __init__(self, size: int = 4096, clock=None) -> None:
        self.size = size
        self.clock = clock or (lambda: time.time())  # looked up per call: patched clocks apply
        self.tokens: dict[bytes, tuple[float, object]] = {}
        self.lock = threading.Lock()  # gthread workers: eviction must not race

    def get(self, raw: bytes):
        entry = self.tokens.get(raw)
        if entry is None:
            return None
        valid_until, token = entry
        if self.clock() >= valid_until:
            with self.lock:
                self.tokens.pop(raw, None)
            return None
        return token

    def remember(self, raw: bytes, token) -> None:
        if isinstance(token, BlacklistMixin):
            return  # a blacklist can change while the token lives: those are checked every time
        exp = token.payload.get("exp")
        if not isinstance(exp, int | float) or isinstance(exp, bool):
            return  # simplejwt refuses a token without a numeric exp; never remember one
        leeway = token.get_token_backend().get_leeway().total_seconds()
        with self.lock:
            while len(self.tokens) >= self.size:
                self.tokens.pop(next(iter(self.tokens)))
            self.tokens[raw] = (exp + leeway, token)


verified_tokens = _VerifiedTokens()


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

    def get_validated_token(self, raw_token: bytes):
        token = verified_tokens.get(raw_token)
        if token is None:
            token = super().get_validated_token(raw_token)  # raises for anything not valid now
            verified_tokens.remember(raw_token, token)
        return token

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
