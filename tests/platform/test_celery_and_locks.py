"""A real Celery worker round trip, queue routing, and the cross-process task lock."""

import time

import pytest
from django.core.cache import cache

from config.celery import app
from core.locks import acquire_lock, held_lock, single_instance
from core.tasks import WORKER_HEARTBEAT_KEY, worker_heartbeat


@pytest.mark.django_db(transaction=True)
def test_task_round_trip_through_a_real_worker(celery_worker_process):
    cache.delete(WORKER_HEARTBEAT_KEY)
    result = worker_heartbeat.delay().get(timeout=30)
    assert result["database"] == "postgresql"
    # the worker wrote to the shared cache (Redis), and it is the same value it returned
    assert cache.get(WORKER_HEARTBEAT_KEY) == result
    assert celery_worker_process.running()


def test_queues_and_routes_are_configured():
    assert {q.name for q in app.conf.task_queues} == {"default", "chain-send", "chain-index"}
    assert app.amqp.router.route({}, "blockchain.outbox.tasks.send_transaction")["queue"].name == "chain-send"
    assert (
        app.amqp.router.route({}, "blockchain.indexing.tasks.index_chain_events")["queue"].name
        == "chain-index"
    )
    assert app.amqp.router.route({}, "core.tasks.worker_heartbeat")["queue"].name == "default"
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    assert app.conf.beat_scheduler == "django_celery_beat.schedulers:DatabaseScheduler"


def test_lock_is_exclusive_until_released():
    first = acquire_lock("test-exclusive", ttl=30)
    assert first is not None
    assert acquire_lock("test-exclusive", ttl=30) is None
    first.release()
    again = acquire_lock("test-exclusive", ttl=30)
    assert again is not None
    again.release()


def test_lock_expires_so_a_dead_holder_cannot_block_forever():
    assert acquire_lock("test-ttl", ttl=1) is not None  # never released, like a crashed holder
    time.sleep(1.2)
    successor = acquire_lock("test-ttl", ttl=5)
    assert successor is not None
    successor.release()


def test_extend_keeps_a_long_job_holding_the_lock():
    handle = acquire_lock("test-extend", ttl=1)
    assert handle.extend(5)
    time.sleep(1.2)
    assert acquire_lock("test-extend", ttl=5) is None
    handle.release()


def test_single_instance_skips_a_concurrent_run():
    calls = []

    @single_instance("test-single", ttl=30)
    def periodic():
        calls.append(1)
        return "ran"

    with held_lock("test-single", ttl=30) as handle:
        assert handle is not None
        assert periodic() is None
    assert periodic() == "ran"
    assert calls == [1]
