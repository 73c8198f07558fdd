"""Where one API request's time goes, in process, through the full middleware stack.

`python -m bench._profile [N] [credential|campaigns|verify]` (or `profile_requests()` from the
api_reads bench): N authenticated `GET /api/credentials/{id}/` requests (or anonymous `GET
/api/campaigns/`, `POST /api/blockchain/verify/`) through Django's test client (every middleware,
DRF, the real PostgreSQL and Redis), with

- a timing shim between every two middlewares, so each middleware's own cost is the difference of
  two neighbouring shims;
- inclusive timers on DRF's steps (authentication, permissions, throttles, the object's queries,
  serializer construction, to_representation, rendering) and on the hot reads' own steps (the
  user's row, `credential_detail`, `first_campaign_page` and the representations);
- every SQL statement and every Redis round trip counted (and their time summed).

Prints the breakdown in ms per request. With PROFILE_CPROFILE=tottime (or any pstats sort key) it
prints cProfile's table instead, and with PROFILE_CALLERS=<regex> also who calls the functions the
regex names. Not a bench module (its name starts with "_").
"""

from __future__ import annotations

import contextlib
import json
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator

_SHIM_PREFIX = "bench._profile.shim_"
_stack_times: dict[int, float] = defaultdict(float)
_inclusive: dict[str, float] = defaultdict(float)
_counts: dict[str, int] = defaultdict(int)


def _make_shim(index: int) -> type:
    class Shim:
        def __init__(self, get_response) -> None:
            self.get_response = get_response

        def __call__(self, request):
            started = time.perf_counter()
            try:
                return self.get_response(request)
            finally:
                _stack_times[index] += time.perf_counter() - started

    Shim.__name__ = f"Shim{index}"
    return Shim


# The shims are looked up by dotted path from MIDDLEWARE.
for _i in range(64):
    globals()[f"shim_{_i}"] = _make_shim(_i)


def _timed(owner: object, name: str, label: str) -> Callable[[], None]:
    """Wrap owner.name with an inclusive timer (re-entrant calls are counted once)."""
    original = getattr(owner, name)
    depth = [0]

    def wrapper(*args, **kwargs):
        if depth[0]:
            return original(*args, **kwargs)
        depth[0] += 1
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            _inclusive[label] += time.perf_counter() - started
            _counts[label] += 1
            depth[0] -= 1

    setattr(owner, name, wrapper)
    return lambda: setattr(owner, name, original)


def _timed_property(owner: type, name: str, label: str) -> Callable[[], None]:
    original = owner.__dict__[name]

    def getter(self):
        started = time.perf_counter()
        try:
            return original.__get__(self, owner)
        finally:
            _inclusive[label] += time.perf_counter() - started
            _counts[label] += 1

    setattr(owner, name, property(getter))
    return lambda: setattr(owner, name, original)


@contextlib.contextmanager
def instrumented() -> Iterator[None]:
    import redis.connection
    from django.db import connection
    from rest_framework import serializers
    from rest_framework.generics import GenericAPIView
    from rest_framework.response import Response
    from rest_framework.views import APIView

    import accounts.authentication
    import campaigns.views
    import credentials.views
    from campaigns import selectors as campaign_selectors
    from credentials import selectors as credential_selectors

    undo = [
        _timed(APIView, "perform_authentication", "drf: authentication"),
        _timed(accounts.authentication, "read_user", "auth: user row (prepared statement)"),
        # the hot reads' own paths (views take them without a query string)
        _timed(credential_selectors, "credential_detail", "view: credential_detail (one statement)"),
        _timed(credentials.views, "credential_representation", "view: credential_representation"),
        _timed(credentials.views, "verification_representation", "view: verification_representation"),
        _timed(campaign_selectors, "first_campaign_page", "view: first_campaign_page (one statement)"),
        _timed(campaigns.views, "campaign_representation", "view: campaign_representation (all rows)"),
        _timed(APIView, "check_permissions", "drf: permissions"),
        _timed(APIView, "check_throttles", "drf: throttles"),
        _timed(GenericAPIView, "get_object", "view: get_object (queries + prefetch)"),
        _timed(GenericAPIView, "get_serializer", "view: serializer construction"),
        _timed(APIView, "finalize_response", "drf: finalize_response"),
        _timed(APIView, "dispatch", "drf: dispatch (whole view)"),
        _timed_property(serializers.Serializer, "data", "serializer: .data (to_representation)"),
        _timed_property(Response, "rendered_content", "render: JSON"),
        _timed(redis.connection.AbstractConnection, "send_packed_command", "redis: round trips (send)"),
        _timed(redis.connection.AbstractConnection, "read_response", "redis: read_response"),
    ]

    def sql_timer(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            _inclusive["sql: statements"] += time.perf_counter() - started
            _counts["sql: statements"] += 1

    try:
        with connection.execute_wrapper(sql_timer):
            yield
    finally:
        for step in reversed(undo):
            step()


def _reset() -> None:
    _stack_times.clear()
    _inclusive.clear()
    _counts.clear()


def profile_requests(
    client,
    path: str,
    *,
    headers: dict,
    n: int = 300,
    method: str = "get",
    body: dict | None = None,
    urlconf: str | None = None,
) -> dict:
    """Run `n` requests through `client` with shims around every middleware; the breakdown."""
    from django.conf import settings
    from django.test import override_settings

    middleware = list(settings.MIDDLEWARE)
    shimmed: list[str] = []
    for i, name in enumerate(middleware):
        shimmed += [f"{_SHIM_PREFIX}{i}", name]
    shimmed.append(f"{_SHIM_PREFIX}{len(middleware)}")

    def one():
        if method == "get":
            response = client.get(path, headers=headers)
        else:
            response = client.post(path, body, content_type="application/json", headers=headers)
        if response.status_code != 200:
            raise RuntimeError(
                f"{method.upper()} {path}: HTTP {response.status_code} {response.content[:300]!r}"
            )

    urls = {"ROOT_URLCONF": urlconf} if urlconf else {}
    with override_settings(MIDDLEWARE=shimmed, **urls):
        for _ in range(max(20, n // 10)):  # warm-up: connections, caches, lazy imports
            one()
        # plain wall time first (no timers but the shims' own), per request
        walls = []
        for _ in range(n):
            started = time.perf_counter()
            one()
            walls.append((time.perf_counter() - started) * 1000)
        _reset()
        with instrumented():
            for _ in range(n):
                one()
        stack = dict(_stack_times)
        inclusive = dict(_inclusive)
        counts = dict(_counts)
    per = 1000 / n
    layers = {}
    for i, name in enumerate(middleware):
        outer = stack.get(i, 0.0)
        inner = stack.get(i + 1, 0.0)
        layers[name] = round((outer - inner) * per, 3)
    layers["URL resolving + view (inside the last middleware)"] = round(
        stack.get(len(middleware), 0.0) * per, 3
    )
    return {
        "requests": n,
        "wall_p50_ms": round(statistics.median(walls), 3),
        "wall_mean_ms": round(statistics.fmean(walls), 3),
        "middleware_ms": layers,
        "steps_ms": {k: round(v * per, 3) for k, v in sorted(inclusive.items())},
        "per_request_counts": {k: round(v / n, 2) for k, v in sorted(counts.items())},
        "sql_per_request": round(counts.get("sql: statements", 0) / n, 2),
        "redis_round_trips_per_request": round(counts.get("redis: round trips (send)", 0) / n, 2),
    }


def format_profile(title: str, result: dict) -> str:
    lines = [
        f"## {title}",
        f"wall p50 {result['wall_p50_ms']} ms, mean {result['wall_mean_ms']} ms "
        f"({result['requests']} requests, test client, no network)",
    ]
    lines.append(
        f"SQL statements/request: {result['sql_per_request']}, "
        f"Redis round trips/request: {result['redis_round_trips_per_request']}"
    )
    lines.append("middleware own time (ms/request):")
    for name, ms in result["middleware_ms"].items():
        lines.append(f"  {ms:8.3f}  {name}")
    lines.append("steps, inclusive (ms/request):")
    for name, ms in result["steps_ms"].items():
        lines.append(f"  {ms:8.3f}  {name}")
    return "\n".join(lines)


def _seed():
    """An operator, an institution and one credential, straight into the tables (no chain)."""
    import uuid

    from django.contrib.auth import get_user_model
    from eth_account import Account

    from credentials.models import Credential, Institution

    user_model = get_user_model()
    user = user_model.objects.create_user(username=f"prof-op-{uuid.uuid4().hex[:8]}", password=None)
    user.role = "operator"
    user.save()
    institution = Institution.objects.create(address=Account.create().address, name="Profile University")
    credential = Credential.objects.create(
        credential_ref="0x" + uuid.uuid4().hex * 2,
        institution=institution,
        subject_wallet="0x90F79bf6EB2c4f870365E785982E1f101E93b906",
        credential_type="diploma",
        document={"profile": True},
        fingerprint="0x" + uuid.uuid4().hex * 2,
        status="issued",
    )
    return user, credential


def _seed_campaigns(owner) -> None:
    """20 public campaigns of one company (as the api_reads bench makes them), unless the database
    has 20 already (the page the profile reads is the first 20 public ones, at most 50)."""
    from bench.api_reads import seed_public_campaigns
    from campaigns.models import Campaign, CampaignStatus

    if Campaign.objects.filter(status__in=[CampaignStatus.ACTIVE, CampaignStatus.SUCCESSFUL]).count() >= 20:
        return
    seed_public_campaigns(owner=owner, legal_name="Profile AG")


def _seed_verifiable():
    """A credential the verify endpoint finds by its document (the cache path)."""
    import uuid

    from eth_account import Account

    from credentials.fingerprints import fingerprint_of
    from credentials.models import Credential, Institution

    document = {"profile": "verify", "n": uuid.uuid4().hex}
    institution = Institution.objects.create(address=Account.create().address, name="Verify University")
    Credential.objects.create(
        credential_ref="0x" + uuid.uuid4().hex * 2,
        institution=institution,
        subject_wallet="0x90F79bf6EB2c4f870365E785982E1f101E93b906",
        credential_type="diploma",
        document=document,
        fingerprint=fingerprint_of(document),
        status="issued",
    )
    return {"document": document}


ENDPOINTS = ("credential", "campaigns", "verify")


def main(argv: list[str]) -> int:
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_ENV", "test")
    # As bench.run: the rate limits stay on (their Redis round trip is measured), far above the load.
    unlimited = "100000000/min"
    os.environ.setdefault(
        "THROTTLE_RATES",
        json.dumps({scope: unlimited for scope in ("login", "register", "verify_anon", "writes")}),
    )
    import django

    django.setup()
    from django.test import Client
    from rest_framework_simplejwt.tokens import AccessToken

    from bench import _profile as this  # run as __main__: the shims MIDDLEWARE names live in bench._profile

    n = int(argv[0]) if argv else 300
    endpoint = argv[1] if len(argv) > 1 else "credential"
    if endpoint not in ENDPOINTS:
        print(f"usage: python -m bench._profile [N] [{'|'.join(ENDPOINTS)}]", file=sys.stderr)
        return 2
    user, credential = _seed()
    token = str(AccessToken.for_user(user))
    method, body, headers = "get", None, {}
    if endpoint == "credential":
        title, path = (
            "GET /api/credentials/{id}/ (authenticated operator)",
            f"/api/credentials/{credential.pk}/",
        )
        headers = {"authorization": f"Bearer {token}"}
    elif endpoint == "campaigns":
        _seed_campaigns(user)
        title, path = "GET /api/campaigns/ (anonymous, a 20-row page)", "/api/campaigns/"
    else:
        title, path, method = (
            "POST /api/blockchain/verify/ (anonymous, by document)",
            "/api/blockchain/verify/",
            "post",
        )
        body = _seed_verifiable()
    if os.environ.get("PROFILE_CPROFILE"):
        import cProfile
        import pstats

        client = Client()

        def one():
            if method == "get":
                client.get(path, headers=headers)
            else:
                client.post(path, body, content_type="application/json", headers=headers)

        for _ in range(50):
            one()
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(n):
            one()
        profiler.disable()
        stats = pstats.Stats(profiler).sort_stats(os.environ["PROFILE_CPROFILE"])
        stats.print_stats(60)
        if os.environ.get("PROFILE_CALLERS"):
            stats.print_callers(os.environ["PROFILE_CALLERS"])
        return 0
    result = this.profile_requests(Client(), path, headers=headers, n=n, method=method, body=body)
    print(format_profile(title, result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
