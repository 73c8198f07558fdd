"""The Idempotency-Key check's added cost per write request.

The same authenticated write (`POST /api/auth/wallet/challenge/`: a challenge row inserted, no chain
call) is sent in-process through the whole middleware stack,
alternately without a key and with a fresh key, 600 times each. The cost is the difference of the
two medians; the order alternates so both see the same machine load.
"""

from __future__ import annotations

import statistics
import time
import uuid

from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User
from bench.common import BenchContext, Measurement
from core.models import IdempotencyRecord

TITLE = "Idempotency-Key: added cost per write request"
REQUESTS = 600
WARMUP = 50
BODY = {"address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"}


def _client() -> APIClient:
    user, _ = User.objects.get_or_create(username="bench-idempotency", defaults={"role": "investor"})
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


def _timed(client: APIClient, key: str | None) -> float:
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    started = time.perf_counter()
    response = client.post("/api/auth/wallet/challenge/", BODY, format="json", **headers)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 201:
        raise RuntimeError(f"the challenge answered {response.status_code}: {response.content[:200]!r}")
    return elapsed


def run(ctx: BenchContext) -> list[Measurement]:
    IdempotencyRecord.objects.all().delete()
    client = _client()
    for _ in range(WARMUP):
        _timed(client, None)
        _timed(client, uuid.uuid4().hex)
    plain, keyed = [], []
    for i in range(REQUESTS):
        pair = [(plain, None), (keyed, uuid.uuid4().hex)]
        for samples, key in pair if i % 2 else reversed(pair):
            samples.append(_timed(client, key))
    replay_key = uuid.uuid4().hex
    _timed(client, replay_key)
    replays = [_timed(client, replay_key) for _ in range(200)]
    without, with_key = statistics.median(plain), statistics.median(keyed)
    return [
        Measurement(
            what="idempotency: added cost per write request, p50 (fresh key vs none)",
            unit="ms",
            ours=round(with_key - without, 3),
            higher_is_better=False,
            target="< 1 ms",
            target_value=1.0,
            samples={
                "without_key_ms": [round(x, 3) for x in plain],
                "with_key_ms": [round(x, 3) for x in keyed],
            },
            extra={
                "without_key_p50_ms": round(without, 3),
                "with_key_p50_ms": round(with_key, 3),
                "replay_p50_ms": round(statistics.median(replays), 3),
            },
        ),
    ]
