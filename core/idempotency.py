"""`Idempotency-Key` on unsafe methods (API.md, "Frontend integration"), Stripe's semantics.

An authenticated POST, PUT, PATCH or DELETE carrying `Idempotency-Key: <1..255 printable ASCII>`:

- the same key from the same user with the same request (SHA-256 of method, path, query string and
  body bytes) within IDEMPOTENCY_TTL_HOURS answers the first response again (status, body,
  Content-Type, Location) with `Idempotent-Replayed: true`, and nothing runs a second time;
- the same key with another request → 422 `idempotency_key_reused`;
- while the first request with the key still runs → 409 `idempotency_in_progress`, `Retry-After: 1`;
- a malformed key → 400 `invalid_idempotency_key`.

Crash safety and cost: one transaction claims the key, runs the view and stores its response. The
claim is one statement: it takes a transaction-scoped advisory lock on (user, key) without waiting
(held: another request with the key is running → the 409) and upserts the record, locking its row.
The effect and its stored response commit together or not at all; a request that dies rolls its claim
back with it, so the next request with the key runs. No extra commit, one extra round trip before the
view and one after it. `transaction.on_commit` hooks (the outbox kick) run after this outer commit, as
they would after the service's own.

Not stored, so a retry runs again: 5xx answers and 429 (throttled); their transaction is rolled
back, so they leave no effect behind either. Anonymous requests (sign-up, token, the public
verifier) are not deduplicated: their answers carry secrets or change nothing. Records older than
the TTL count as absent; `purge_expired` (a beat task) deletes them.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from prometheus_client import Counter

from core.api import bearer_authentication_classes
from core.models import IdempotencyRecord, IdempotencyState
from core.rows import prepared_cursor

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
HEADER = "Idempotency-Key"
_META_KEY = "HTTP_IDEMPOTENCY_KEY"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
# Headers of the first response that a replay repeats (the body's type and a created resource's URL).
STORED_HEADERS = ("Content-Type", "Location")

IDEMPOTENCY_REQUESTS = Counter(
    "idempotency_requests_total",
    "Requests carrying an Idempotency-Key, by outcome",
    ["outcome"],  # executed, replayed, key_reused, in_progress, invalid_key, not_stored, anonymous
)


def current_time() -> datetime:
    """The one clock records are stamped and expired by (tests set it instead of waiting a day)."""
    return timezone.now()


def ttl() -> timedelta:
    return timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS)


def valid_key(key: str) -> bool:
    return 0 < len(key) <= MAX_KEY_LENGTH and all(" " <= ch <= "~" for ch in key)


def request_hash(request) -> str:
    digest = hashlib.sha256()
    for part in (request.method, request.path, request.META.get("QUERY_STRING", "")):
        encoded = part.encode("utf-8", "surrogateescape")
        digest.update(len(encoded).to_bytes(8, "big") + encoded)
    digest.update(request.body)  # bounded by RequestBodyLimitMiddleware; parsers re-read it from memory
    return digest.hexdigest()


def stored(response) -> bool:
    """Whether a response is kept for replay: not a server error, not throttled (both are answers
    a client retries, and get rolled back)."""
    return response.status_code < 500 and response.status_code != 429


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message}, status=status)


def _authenticated_user(request):
    """The user the view will act for: the bearer token's (DRF authenticates only in the view, so
    it is done here too, with the same classes and in the same order: tokens before sessions), else
    the session's (the admin). None for anonymous or bad credentials: the view then answers as usual
    (e.g. 401) and nothing is deduplicated."""
    if request.META.get("HTTP_AUTHORIZATION"):
        from rest_framework.exceptions import APIException
        from rest_framework.request import Request

        drf_request = Request(request)
        for authentication_class in bearer_authentication_classes():
            try:
                result = authentication_class().authenticate(drf_request)
            except APIException:
                return None
            if result is not None:
                return result[0]
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(bytes(record.body), status=record.status_code)
    if "Content-Type" not in record.headers:
        del response["Content-Type"]
    for name, value in record.headers.items():
        response[name] = value
    response[REPLAYED_HEADER] = "true"
    return response


class IdempotencyMiddleware:
    """See the module docstring. Placed after authentication (sessions) in MIDDLEWARE."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in UNSAFE_METHODS or _META_KEY not in request.META:
            return self.get_response(request)
        key = request.META[_META_KEY]
        if not valid_key(key):
            IDEMPOTENCY_REQUESTS.labels("invalid_key").inc()
            return _error(
                400,
                "invalid_idempotency_key",
                f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters.",
            )
        user = _authenticated_user(request)
        if user is None:
            IDEMPOTENCY_REQUESTS.labels("anonymous").inc()
            return self.get_response(request)
        digest = request_hash(request)
        return self._handle(request, user, key, digest)

    def _handle(self, request, user, key: str, digest: str):
        now = current_time()
        with transaction.atomic():
            claimed = _claim(user_id=user.pk, key=key, digest=digest, request=request, now=now)
            if claimed is None:
                IDEMPOTENCY_REQUESTS.labels("in_progress").inc()
                response = _error(
                    409,
                    "idempotency_in_progress",
                    f"A request with this {HEADER} is still being processed; retry shortly.",
                )
                response["Retry-After"] = "1"
                return response
            record_id, state, stored_hash, created_at, inserted = claimed
            fresh = inserted or created_at <= now - ttl()  # expired counts as absent
            if not fresh and state == IdempotencyState.COMPLETED:
                if stored_hash == digest:
                    IDEMPOTENCY_REQUESTS.labels("replayed").inc()
                    return _replay(IdempotencyRecord.objects.get(pk=record_id))
                IDEMPOTENCY_REQUESTS.labels("key_reused").inc()
                return _error(
                    422,
                    "idempotency_key_reused",
                    f"This {HEADER} was already used with a different request; use a new key.",
                )
            # A fresh claim, or a `running` record a request that died left behind: run now.
            response = self.get_response(request)

            if not stored(response):
                # A retry must run again, so nothing of this attempt may stay behind.
                transaction.set_rollback(True)
                IDEMPOTENCY_REQUESTS.labels("not_stored").inc()
                return response
            if response.streaming:
                # Nothing to store (no unsafe API operation streams); the effect commits, the claim
                # stays `running`, so a retry runs again.
                IDEMPOTENCY_REQUESTS.labels("not_stored").inc()
                return response
            _complete(
                record_id,
                digest=digest,
                request=request,
                created_at=now if fresh else created_at,
                response=response,
            )
            IDEMPOTENCY_REQUESTS.labels("executed").inc()
            return response


def _lock_key(user_id: int, key: str) -> int:
    """A signed 64-bit advisory lock id for (user, key); a collision only answers a spurious 409."""
    digest = hashlib.blake2b(f"idempotency:{user_id}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


_CLAIM_SQL = """
INSERT INTO {table} (user_id, key, request_hash, method, path, state, body, headers, created_at)
SELECT %s, %s, %s, %s, %s, 'running', ''::bytea, '{{}}'::jsonb, %s
WHERE pg_try_advisory_xact_lock(%s)
ON CONFLICT (user_id, key) DO UPDATE SET key = EXCLUDED.key
RETURNING id, state, request_hash, created_at, (xmax = 0)
"""


_COMPLETE_SQL = """
UPDATE {table} SET state = 'completed', request_hash = %s, method = %s, path = %s, created_at = %s,
    status_code = %s, body = %s, headers = %s::jsonb, completed_at = %s
WHERE id = %s
"""


def _complete(record_id: int, *, digest: str, request, created_at: datetime, response) -> None:
    """Store the response in the claimed record (one statement, in the request's transaction)."""
    headers = {name: response[name] for name in STORED_HEADERS if response.has_header(name)}
    table = connection.ops.quote_name(IdempotencyRecord._meta.db_table)
    params = [
        digest,
        request.method,
        request.path[:500],
        created_at,
        response.status_code,
        response.content,
        json.dumps(headers),
        current_time(),
        record_id,
    ]
    with prepared_cursor(connection.alias) as cursor:
        cursor.execute(_COMPLETE_SQL.format(table=table), params)  # nosec B608 - the table name is ours


def _claim(*, user_id: int, key: str, digest: str, request, now: datetime) -> tuple | None:
    """Lock (user, key) for this transaction and upsert its record, in one statement; None when
    another running request holds the key."""
    table = connection.ops.quote_name(IdempotencyRecord._meta.db_table)
    params = [user_id, key, digest, request.method, request.path[:500], now, _lock_key(user_id, key)]
    with prepared_cursor(connection.alias) as cursor:
        cursor.execute(_CLAIM_SQL.format(table=table), params)  # nosec B608 - the table name is ours
        return cursor.fetchone()


def purge_expired() -> int:
    """Delete the records older than the TTL (they count as absent already); returns how many."""
    cutoff = current_time() - ttl()
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lte=cutoff).delete()
    return deleted
