"""`make run`'s embedded broker (a private redis-server, devtools.processes.EmbeddedRedis) carries
thousands of messages from concurrent producer processes to two worker processes: none lost, none
delivered twice, no worker dead. (The filesystem broker it replaced lost a worker to a half-written
message file about a minute after start, once in four runs.)"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest
import redis
from django.conf import settings

from devtools.processes import EmbeddedRedis, ManagedProcess, celery_worker_argv, free_port, wait_until
from tests.support.broker_probe import BY_WORKER, DELIVERIES, SEEN

PRODUCERS = 4
PER_PRODUCER = 1000


@pytest.fixture
def embedded_redis(tmp_path):
    server = EmbeddedRedis(data_dir=tmp_path / "redis", port=free_port(), password=secrets.token_urlsafe(16))
    server.start()
    yield server
    server.stop()


def probe_url(server: EmbeddedRedis) -> str:
    return server.url.rsplit("/", 1)[0] + "/1"  # the deliveries are counted beside the broker's db 0


def test_the_embedded_redis_needs_its_password_and_keeps_it_out_of_the_command_line(embedded_redis):
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(host="127.0.0.1", port=embedded_redis.port).ping()
    assert redis.Redis.from_url(embedded_redis.url).ping()
    assert embedded_redis.password not in " ".join(embedded_redis.process.argv)
    config = embedded_redis.process.argv[-1]
    assert oct(os.stat(config).st_mode & 0o777) == "0o600"


def test_thousands_of_messages_from_concurrent_producers_reach_two_workers_once_each(
    embedded_redis, tmp_path
):
    env = {
        **os.environ,
        "REDIS_URL": embedded_redis.url,
        "BROKER_PROBE_URL": probe_url(embedded_redis),
        "CACHE_KEY_PREFIX": "lbprobe",
    }
    workers = [
        ManagedProcess(
            f"probe-worker-{i}",
            celery_worker_argv(
                node_name=f"probe-{i}-{secrets.token_hex(3)}@localhost",
                concurrency=2,
                include="tests.support.broker_probe",
                quiet_cluster=True,
                banner=False,
            ),
            env={**env, "BROKER_PROBE_WORKER": str(i)},
            cwd=settings.BASE_DIR,
            log_path=tmp_path / f"worker-{i}.log",
        ).start()
        for i in range(2)
    ]
    store = redis.Redis.from_url(probe_url(embedded_redis))
    try:
        producers = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.support.broker_probe", str(p), str(PER_PRODUCER)],
                cwd=settings.BASE_DIR,
                env=env,
                stderr=subprocess.PIPE,
                text=True,
            )
            for p in range(PRODUCERS)
        ]
        for producer in producers:
            _, errors = producer.communicate(timeout=300)
            assert producer.returncode == 0, errors

        total = PRODUCERS * PER_PRODUCER
        # Wait for every message, or for a worker to die (then the assertions below say which).
        wait_until(
            lambda: store.scard(SEEN) >= total or not all(w.running() for w in workers),
            timeout=600,
            interval=0.5,
            what="every probe task to run",
        )
        assert all(worker.running() for worker in workers), [w.log_tail() for w in workers]

        expected = {f"{p}:{n}".encode() for p in range(PRODUCERS) for n in range(PER_PRODUCER)}
        assert store.smembers(SEEN) == expected  # nothing lost
        assert int(store.get(DELIVERIES)) == total  # nothing delivered twice
        per_worker = {key.decode(): int(count) for key, count in store.hgetall(BY_WORKER).items()}
        assert {key.rsplit(":", 1)[1] for key in per_worker} == {"0", "1"}  # both consumed
        queued = redis.Redis.from_url(embedded_redis.url).llen("default")
        assert queued == 0
    finally:
        for worker in workers:
            worker.stop()
