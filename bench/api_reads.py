"""API reads under load: gunicorn (2 workers) and 32 concurrent clients for DURATION seconds each on
`GET /api/credentials/{id}/`, `GET /api/campaigns/` and `POST /api/blockchain/verify/`.

Method: a fresh suite on the bench's anvil; an institution, COUNT credentials and an active campaign
are made through the services and the outbox. gunicorn serves the platform with CHAIN_RPC_URL
pointing at a counting JSON-RPC proxy in front of anvil, so every call the web processes make to the
chain during the run is counted (target: none; reads come from the database). The load is an
aiohttp client with 32 concurrent connections in this process. The naive column is the same verify
request for credentials the platform does not know yet (each answered by the chain fallback).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from django.conf import settings
from eth_account import Account

from bench._baseline import BASELINE_PATH
from bench._baseline import URLCONF as BASELINE_URLCONF
from bench.common import (
    WEB_WORKERS,
    BenchContext,
    CpuUse,
    Measurement,
    describe_cpu,
    mean_cpu,
    reset_chain_tables,
    settle_outbox,
)
from blockchain.chain.client import build_web3, get_web3
from blockchain.chain.signer import get_signer
from contracts.deployment import deploy_suite_onchain, record_suite
from devtools.processes import ManagedProcess, free_port, port_is_open, wait_until

TITLE = "API reads under load (gunicorn, 2 workers, 32 clients)"
DURATION = float(os.environ.get("BENCH_API_SECONDS", "20"))
CLIENTS = 32
COUNT = 200
SINGLE = float(os.environ.get("BENCH_API_SINGLE_SECONDS", "5"))
PROFILE_REQUESTS = int(os.environ.get("BENCH_API_PROFILE_REQUESTS", "300"))
# The issue's targets: each endpoint's requests/s as a share of the baseline's (same run).
SHARE_TARGETS = {
    "GET /api/credentials/{id}/": 0.5,
    "GET /api/campaigns/": 0.3,
    "POST /api/blockchain/verify/": 0.5,
}


class CountingProxy:
    """Forwards JSON-RPC to the node and counts the calls (a batch counts each call in it)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.calls = 0
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                payload = json.loads(body)
                with proxy.lock:
                    proxy.calls += len(payload) if isinstance(payload, list) else 1
                request = urllib.request.Request(  # noqa: S310 - our own node's http URL
                    proxy.upstream, data=body, headers={"Content-Type": "application/json"}
                )
                with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
                    data = answer.read()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                return

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.shutdown()


async def _load(
    url: str,
    *,
    method: str,
    bodies: list[dict] | None,
    seconds: float,
    clients: int = CLIENTS,
    urls: list[str] | None = None,
    headers: dict[str, str] | None = None,
) -> list[float]:
    """`clients` connections for `seconds`; a GET with `urls` goes round them (each client from its
    own offset), a POST round `bodies`."""
    import aiohttp

    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=clients)
    targets = urls or [url]
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def client(index: int) -> None:
            n = index
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                if method == "GET":
                    target = targets[n % len(targets)]
                    n += clients
                    async with session.get(target) as response:
                        await response.read()
                        status = response.status
                else:
                    body = bodies[n % len(bodies)]
                    n += clients
                    async with session.post(url, json=body) as response:
                        await response.read()
                        status = response.status
                if status != 200:
                    raise RuntimeError(f"{method} {target if method == 'GET' else url}: HTTP {status}")
                latencies.append((time.perf_counter() - started) * 1000)

        await asyncio.gather(*(client(i) for i in range(clients)))
    return latencies


def _measure(
    base: str,
    name: str,
    path: str,
    proxy: CountingProxy,
    *,
    method="GET",
    bodies=None,
    seconds=DURATION,
    clients=CLIENTS,
    paths: list[str] | None = None,
    headers: dict[str, str] | None = None,
):
    before = proxy.calls
    cpu = CpuUse().start()
    started = time.perf_counter()
    latencies = asyncio.run(
        _load(
            base + path,
            method=method,
            bodies=bodies,
            seconds=seconds,
            clients=clients,
            urls=[base + p for p in paths] if paths else None,
            headers=headers,
        )
    )
    elapsed = time.perf_counter() - started
    cpu.stop()
    return {
        "name": name,
        # CPU ms per request by process role: the web workers, PostgreSQL, Redis, this load generator
        "cpu_ms": cpu.ms_per(len(latencies)),
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies),
        "p99": statistics.quantiles(latencies, n=100)[98],
        "requests": len(latencies),
        "rpc_calls": proxy.calls - before,
    }


@dataclass
class ReadSet:
    """What the read bench's requests need: the verify documents, a credential id and the bearer
    token of an operator (who reads every credential)."""

    documents: list[dict]
    credential_id: int
    token: str


def setup_read_set(ctx: BenchContext) -> ReadSet:
    """A fresh suite on the bench's anvil; an institution and COUNT credentials made through the
    services and the outbox, and 20 public campaigns (one active)."""
    from credentials import services as credentials
    from credentials.models import Credential

    w3 = build_web3(ctx.node.url)
    record_suite(chain_id=settings.CHAIN_ID, deployed=deploy_suite_onchain(w3=w3, signer=get_signer()))
    get_web3.cache_clear()
    reset_chain_tables()
    institution = credentials.upsert_institution(address=Account.create().address, name="Bench University")
    settle_outbox()
    institution.refresh_from_db()
    documents = [{"bench": "api", "n": i, "run": str(time.time_ns())} for i in range(COUNT)]
    for document in documents:
        credentials.issue_credential(
            actor=None,
            institution=institution,
            subject_wallet="0x90F79bf6EB2c4f870365E785982E1f101E93b906",
            credential_type="diploma",
            document=document,
        )
    settle_outbox()
    owner = _public_campaign_owner()
    seed_public_campaigns(owner=owner, legal_name="Bench AG")
    credential_id = Credential.objects.order_by("id").values_list("pk", flat=True)[0]
    from django.contrib.auth import get_user_model

    reader = get_user_model().objects.get(pk=owner.pk)  # an operator reads credentials
    return ReadSet(documents=documents, credential_id=credential_id, token=_token_for(reader))


def seed_public_campaigns(*, owner, legal_name: str, count: int = 20) -> None:
    """COUNT public campaigns of one new company owned by OWNER, the first active and the rest
    successful (what GET /api/campaigns/ lists); addresses and refs unique across repeated runs."""
    from django.utils import timezone

    from campaigns.models import Campaign, CampaignStatus
    from issuers.models import Company

    run = time.time_ns()
    company = Company.objects.create(
        owner=owner,
        legal_name=legal_name,
        registration_number=f"B-{run}",
        country="CH",
        wallet_address=Account.create().address,
        document_cid="QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG",
    )
    now = timezone.now()
    Campaign.objects.bulk_create(
        [
            Campaign(
                issuer=company,
                title=f"Public {i}",
                goal=1000,
                hard_cap=2000,
                min_investment=10,
                share_price=1,
                starts_at=now,
                ends_at=now + timezone.timedelta(days=30),
                status=CampaignStatus.SUCCESSFUL if i else CampaignStatus.ACTIVE,
                contract_address=Account.create().address,
                campaign_ref="0x" + f"{run:032x}{i + 1:032x}",
            )
            for i in range(count)
        ]
    )


@contextmanager
def serving(ctx: BenchContext) -> Iterator[tuple[str, CountingProxy]]:
    """gunicorn (2 workers, deploy/gunicorn.conf.py) serving the platform plus the baseline route,
    its chain calls through a counting proxy: yields (base URL, proxy)."""
    proxy = CountingProxy(ctx.node.url)
    port = free_port()
    root = Path(__file__).resolve().parent.parent
    env = {
        **os.environ,
        "CHAIN_RPC_URL": proxy.url,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_ACCESS_LOG": "/dev/null",
        "GUNICORN_LOG_LEVEL": "warning",
        "GUNICORN_MAX_REQUESTS": "0",
        "CREDENTIAL_CHAIN_CACHE_SECONDS": "0",  # the naive column: every fallback really reads the chain
    }
    web = ManagedProcess(
        "bench-web",
        [
            str(root / ".venv" / "bin" / "python"),
            "-m",
            "gunicorn",
            "-c",
            "deploy/gunicorn.conf.py",
            # config.wsgi plus the bench-only baseline route (never in production's URL conf)
            "bench._baseline_wsgi:application",
        ],
        env=env,
        cwd=root,
        log_path=root / "var" / "bench-logs" / "gunicorn.log",
    ).start()
    try:
        wait_until(lambda: port_is_open("127.0.0.1", port), timeout=60, what="gunicorn")
        yield f"http://127.0.0.1:{port}", proxy
    finally:
        web.stop()
        proxy.close()


def run(ctx: BenchContext) -> list[Measurement]:
    from credentials.fingerprints import fingerprint_of
    from credentials.models import Credential

    read_set = setup_read_set(ctx)
    documents, token = read_set.documents, read_set.token
    credential_path = f"/api/credentials/{read_set.credential_id}/"
    verify_bodies = [{"document": d} for d in documents]
    with serving(ctx) as (base, proxy):
        _measure(base, "warm-up", "/api/campaigns/", proxy, seconds=2)
        # The ceiling twice (before and after the endpoints), so a load change on this shared
        # machine during the run shows, and the ratios use the mean of the two.
        baseline_runs = [_measure(base, "GET /bench/baseline/", BASELINE_PATH, proxy)]
        results = [
            _measure_authenticated(base, credential_path, token, proxy),
            _measure(base, "GET /api/campaigns/", "/api/campaigns/", proxy),
            _measure(
                base,
                "POST /api/blockchain/verify/",
                "/api/blockchain/verify/",
                proxy,
                method="POST",
                bodies=verify_bodies,
            ),
        ]
        baseline_runs.append(_measure(base, "GET /bench/baseline/", BASELINE_PATH, proxy))
        # One client at a time: the latency of a request alone (the < 5 ms target).
        single = {
            "baseline": _measure(base, "baseline, 1 client", BASELINE_PATH, proxy, seconds=SINGLE, clients=1),
            "credential": _measure_authenticated(
                base, credential_path, token, proxy, seconds=SINGLE, clients=1
            ),
        }
        # The naive column: the chain fallback (credentials the platform does not know).
        Credential.objects.filter(batch__isnull=True).update(status="pending")
        naive = _measure(
            base,
            "verify via chain",
            "/api/blockchain/verify/",
            proxy,
            method="POST",
            bodies=[{"fingerprint": fingerprint_of(d)} for d in documents],
            seconds=min(DURATION, 10),
        )
        Credential.objects.filter(batch__isnull=True).update(status="issued")
    baseline_rps = statistics.fmean(run["rps"] for run in baseline_runs)
    baseline_cpu = mean_cpu([run["cpu_ms"] for run in baseline_runs])
    for run in [*baseline_runs, *results]:
        print(f"[bench]   CPU ms per request, {run['name']}: {describe_cpu(run['cpu_ms'])}", flush=True)
    rows = [
        Measurement(
            what="API baseline (minimal Django view, same stack): requests/s (32 clients, 2 workers)",
            unit="req/s",
            ours=round(baseline_rps, 1),
            headline=True,
            samples={"rps": [round(run["rps"], 1) for run in baseline_runs]},
            extra={
                "p50_ms": [round(run["p50"], 2) for run in baseline_runs],
                "p99_ms": [round(run["p99"], 2) for run in baseline_runs],
                "load_average": _load_average(),
            },
        ),
        Measurement(
            what="API baseline: p50 latency, 1 client",
            unit="ms",
            ours=round(single["baseline"]["p50"], 2),
            higher_is_better=False,
            headline=True,
        ),
        Measurement(
            what="API GET /api/credentials/{id}/: p50 latency, 1 client",
            unit="ms",
            ours=round(single["credential"]["p50"], 2),
            naive=round(single["baseline"]["p50"], 2),
            higher_is_better=False,
            target="< 5 ms",
            target_value=5,
            extra={"p99_ms": round(single["credential"]["p99"], 2), "naive_is": "the baseline view"},
        ),
    ]
    for result in results:
        is_verify = result["name"].startswith("POST")
        share = SHARE_TARGETS[result["name"]]
        rows.append(
            Measurement(
                what=f"API {result['name']}: requests/s against the baseline's (naive column: baseline)",
                unit="req/s",
                ours=round(result["rps"], 1),
                naive=round(baseline_rps, 1),
                target=f"≥ {share:.0%} of the baseline",
                target_ratio=share,
                extra={"share_of_baseline": round(result["rps"] / baseline_rps, 3)},
            )
        )
        # What limits the share: the CPU each request costs the web workers against the baseline's
        # (the two cores are shared by gunicorn, PostgreSQL, Redis and the load generator).
        rows.append(
            Measurement(
                what=f"API {result['name']}: web workers' CPU per request under load (naive: baseline)",
                unit="ms",
                ours=result["cpu_ms"].get(WEB_WORKERS, 0.0),
                naive=baseline_cpu.get(WEB_WORKERS, 0.0),
                higher_is_better=False,
                headline=True,
                extra={"cpu_ms_per_request": result["cpu_ms"], "baseline_cpu_ms_per_request": baseline_cpu},
            )
        )
        rows.append(
            Measurement(
                what=f"API {result['name']}: requests/s (32 clients, 2 gunicorn workers)",
                unit="req/s",
                ours=round(result["rps"], 1),
                naive=round(naive["rps"], 1) if is_verify else None,
                target="0 RPC calls",
                extra={
                    "p50_ms": round(result["p50"], 2),
                    "p99_ms": round(result["p99"], 2),
                    "requests": result["requests"],
                    "rpc_calls": result["rpc_calls"],
                    **(
                        {"naive_p50_ms": round(naive["p50"], 2), "naive_rpc_calls": naive["rpc_calls"]}
                        if is_verify
                        else {}
                    ),
                },
            )
        )
        for quantile in ("p50", "p99"):
            rows.append(
                Measurement(
                    what=f"API {result['name']}: {quantile} latency under that load",
                    unit="ms",
                    ours=round(result[quantile], 1),
                    naive=round(naive[quantile], 1) if is_verify else None,
                    higher_is_better=False,
                    headline=True,
                )
            )
        rows.append(
            Measurement(
                what=f"API {result['name']}: JSON-RPC calls during the run",
                unit="calls",
                ours=result["rpc_calls"],
                higher_is_better=False,
                target="0",
                target_value=0,
            )
        )
    rows += _in_process_rows(credential_path, token, verify_bodies[0])
    return rows


def _load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _in_process_rows(credential_path: str, token: str, verify_body: dict) -> list[Measurement]:
    """The same requests in this process through the whole middleware stack: where their time goes
    (bench/_profile.py), and how many SQL statements and Redis round trips each costs."""
    from django.test import Client

    from bench import _profile

    client = Client(REMOTE_ADDR="127.0.0.1")
    auth = {"authorization": f"Bearer {token}"}
    profiles = {
        "GET /api/credentials/{id}/": _profile.profile_requests(
            client, credential_path, headers=auth, n=PROFILE_REQUESTS
        ),
        "GET /api/campaigns/": _profile.profile_requests(
            client, "/api/campaigns/", headers={}, n=PROFILE_REQUESTS
        ),
        "POST /api/blockchain/verify/": _profile.profile_requests(
            client, "/api/blockchain/verify/", headers={}, n=PROFILE_REQUESTS, method="post", body=verify_body
        ),
        "GET /bench/baseline/": _profile.profile_requests(
            client, BASELINE_PATH, headers={}, n=PROFILE_REQUESTS, urlconf=BASELINE_URLCONF
        ),
    }
    rows = []
    for name, profile in profiles.items():
        print(_profile.format_profile(f"{name}, in process", profile), flush=True)
        rows.append(
            Measurement(
                what=f"API {name} in process (full middleware, no network): p50 ms per request",
                unit="ms",
                ours=profile["wall_p50_ms"],
                higher_is_better=False,
                headline=name.startswith("GET /api/credentials"),
                extra=profile,
            )
        )
        if name == "GET /bench/baseline/":
            continue
        rows.append(
            Measurement(
                what=f"API {name}: SQL statements per request",
                unit="queries",
                ours=profile["sql_per_request"],
                higher_is_better=False,
                headline=True,
            )
        )
        rows.append(
            Measurement(
                what=f"API {name}: Redis round trips per request",
                unit="round trips",
                ours=profile["redis_round_trips_per_request"],
                higher_is_better=False,
                target="≤ 1",
                target_value=1,
            )
        )
    return rows


def _public_campaign_owner():
    from accounts.services import create_user

    return create_user(username=f"bench-op-{time.time_ns()}", role="operator", password=None)


def _token_for(user) -> str:
    from rest_framework_simplejwt.tokens import AccessToken

    return str(AccessToken.for_user(user))


def _measure_authenticated(base: str, path: str, token: str, proxy: CountingProxy, **options) -> dict:
    """The same load with the operator's bearer token (`paths`: several credentials in turn)."""
    name = f"GET {path.rsplit('/', 2)[0]}/{{id}}/"
    return _measure(base, name, path, proxy, headers={"Authorization": f"Bearer {token}"}, **options)
