"""A task that records its own delivery, for the embedded broker's test (tests/platform/
test_embedded_broker.py), and a producer entry point:

    python -m tests.support.broker_probe PRODUCER COUNT

publishes COUNT probe tasks through the platform's Celery app (REDIS_URL names the broker). Each
delivery is counted in BROKER_PROBE_URL's Redis, so the test sees lost and duplicated messages."""

from __future__ import annotations

import os
import socket
import sys

import redis
from celery import shared_task

SEEN = "probe:seen"  # a set of "producer:n": one member per distinct message delivered
DELIVERIES = "probe:deliveries"  # every delivery, duplicates included
BY_WORKER = "probe:by-worker"  # deliveries per worker process


@shared_task(name="tests.probe.record")
def record(producer: int, n: int) -> None:
    store = redis.Redis.from_url(os.environ["BROKER_PROBE_URL"])
    pipe = store.pipeline()
    pipe.sadd(SEEN, f"{producer}:{n}")
    pipe.incr(DELIVERIES)
    pipe.hincrby(BY_WORKER, f"{socket.gethostname()}:{os.environ.get('BROKER_PROBE_WORKER', '?')}", 1)
    pipe.execute()


def publish(producer: int, count: int) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from config.celery import app

    for n in range(count):
        app.send_task("tests.probe.record", args=[producer, n], queue="default")


if __name__ == "__main__":
    publish(int(sys.argv[1]), int(sys.argv[2]))
