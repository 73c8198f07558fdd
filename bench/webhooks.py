"""Webhook delivery: deliveries per second to a local receiver through two worker processes, and the
latency from an event's commit to its arrival at the receiver.

Throughput: 4,000 events committed in transactions of 100 (one delivery task per commit), timed
from the first commit to the last arrival. Latency: 300 events, one per transaction, paced so the
workers are never saturated; latency = arrival time at the receiver − the time the commit returned.
"""

from __future__ import annotations

import statistics
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Lock, Thread

from django.db import connection, transaction

from bench.common import BenchContext, Measurement, start_workers
from webhooks import services
from webhooks.models import AnnouncedFacts, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent

TITLE = "Webhooks: deliveries per second with two workers, and commit-to-delivery latency"
THROUGHPUT_EVENTS = 4000
PER_COMMIT = 100
LATENCY_EVENTS = 300
LATENCY_PACE_SECONDS = 0.01
RUNS = 3


class Receiver:
    """A partner endpoint on loopback that only counts and timestamps what arrives (HTTP/1.1 keep-alive)."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.lock = Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                now = time.perf_counter()
                with receiver.lock:
                    receiver.arrivals.setdefault(self.headers["webhook-id"], now)
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def wait(self, count: int, *, timeout: float = 300) -> None:
        deadline = time.perf_counter() + timeout
        while len(self.arrivals) < count:
            if time.perf_counter() > deadline:
                raise RuntimeError(f"only {len(self.arrivals)} of {count} webhooks arrived")
            time.sleep(0.005)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _reset() -> None:
    for model in (WebhookAttempt, WebhookDelivery, WebhookEvent, AnnouncedFacts):
        model.objects.all().delete()
    with connection.cursor() as cursor:
        tables = [m._meta.db_table for m in (WebhookAttempt, WebhookDelivery, WebhookEvent)]
        cursor.execute("VACUUM ANALYZE " + ", ".join(tables))


def _throughput(receiver: Receiver, run: int) -> float:
    _reset()
    receiver.arrivals.clear()
    started = time.perf_counter()
    for start in range(0, THROUGHPUT_EVENTS, PER_COMMIT):
        with transaction.atomic():
            for i in range(start, start + PER_COMMIT):
                services.announce("loan.anchored", data={"loan_id": f"T{run}-{i}", "status": "anchored"})
    receiver.wait(THROUGHPUT_EVENTS)
    elapsed = max(receiver.arrivals.values()) - started
    rate = THROUGHPUT_EVENTS / elapsed
    print(
        f"[bench]     run {run}: {THROUGHPUT_EVENTS} deliveries in {elapsed:.2f}s ({rate:,.0f}/s)", flush=True
    )
    return rate


def _latency(receiver: Receiver) -> list[float]:
    _reset()
    receiver.arrivals.clear()
    committed: dict[str, float] = {}
    for i in range(LATENCY_EVENTS):
        with transaction.atomic():
            event = services.announce("loan.anchored", data={"loan_id": f"L-{i}", "status": "anchored"})
        committed[event.id] = time.perf_counter()
        time.sleep(LATENCY_PACE_SECONDS)
    receiver.wait(LATENCY_EVENTS)
    return sorted((receiver.arrivals[msg] - at) * 1000 for msg, at in committed.items())


def run(ctx: BenchContext) -> list[Measurement]:
    WebhookEndpoint.objects.all().delete()
    receiver = Receiver()
    services.create_endpoint(url=receiver.url, event_types=["loan.anchored"])
    workers = start_workers(2, name="webhook-bench")
    try:
        rates = [_throughput(receiver, run) for run in range(RUNS)]
        latencies = _latency(receiver)
    finally:
        for worker in workers:
            worker.stop()
        receiver.close()
        WebhookEndpoint.objects.all().delete()
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return [
        Measurement(
            what="webhooks: deliveries/s to a local receiver (4,000 events, 2 workers)",
            unit="/s",
            ours=round(statistics.median(rates), 1),
            target="≥ 500/s",
            target_value=500,
            samples={"ours": [round(r, 1) for r in rates]},
        ),
        Measurement(
            what="webhooks: commit → delivery latency p50 (300 events, one per commit)",
            unit="ms",
            ours=round(p50, 1),
            higher_is_better=False,
            target="p50 < 1,000 ms",
            target_value=1000,
            samples={"ours": [round(x, 1) for x in latencies]},
            extra={"p99_ms": round(p99, 1)},
        ),
        Measurement(
            what="webhooks: commit → delivery latency p99",
            unit="ms",
            ours=round(p99, 1),
            higher_is_better=False,
            headline=True,
        ),
    ]
