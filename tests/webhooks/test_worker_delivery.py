"""Webhooks delivered by real Celery workers: the commit's kick reaches a worker (no sweep needed),
a kick that never reached the broker is delivered by the sweep, and many events from concurrent
producers arrive once each."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from standardwebhooks import Webhook

from tests.support.outbox import wait_for
from tests.support.webhook_receiver import WebhookReceiver
from webhooks import services
from webhooks.models import DeliveryStatus, WebhookDelivery
from webhooks.services import announce
from webhooks.tasks import sweep_webhooks

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def receiver():
    with WebhookReceiver() as r:
        yield r


def _endpoint(receiver) -> str:
    _endpoint, secret = services.create_endpoint(
        url=receiver.url(), event_types=["loan.anchored", "loan.repaid"]
    )
    return secret.reveal()


def test_a_committed_event_is_delivered_by_a_worker_after_the_commit(celery_worker_process, receiver):
    secret = _endpoint(receiver)
    with transaction.atomic():
        event = announce("loan.anchored", data={"loan_id": "LN-1", "status": "anchored"})
        assert receiver.received == [], "nothing leaves before the commit"
    (got,) = receiver.wait_for(1, timeout=60)
    assert Webhook(secret).verify(got.body, got.headers)["data"]["loan_id"] == "LN-1"
    assert got.headers["webhook-id"] == event.id
    wait_for(
        lambda: WebhookDelivery.objects.get(event=event).status == DeliveryStatus.SUCCEEDED,
        timeout=30,
        what="the worker to record the delivery",
    )


def test_a_kick_that_never_reached_the_broker_is_delivered_by_the_sweep(receiver, monkeypatch):
    _endpoint(receiver)
    monkeypatch.setattr("webhooks.tasks.deliver_webhooks.apply_async", _broker_down)
    with transaction.atomic():
        event = announce("loan.repaid", data={"loan_id": "LN-2", "status": "repaid"})
    assert WebhookDelivery.objects.get(event=event).status == DeliveryStatus.PENDING
    assert sweep_webhooks() == 1  # the beat's job
    (got,) = receiver.wait_for(1)
    assert got.headers["webhook-id"] == event.id


def _broker_down(*args, **kwargs):
    raise ConnectionError("broker unreachable")


def test_many_events_from_concurrent_producers_arrive_once_each_through_two_workers(
    worker_factory, isolated_broker, receiver
):
    for name in ("hooks-a", "hooks-b"):
        worker_factory(name, extra_env={"REDIS_URL": isolated_broker})
    _endpoint(receiver)
    producers, per_producer = 4, 50
    ids: list[str] = []
    lock = threading.Lock()

    def produce(n: int) -> None:
        try:
            for i in range(per_producer):
                with transaction.atomic():
                    event = announce("loan.anchored", data={"producer": n, "i": i})
                with lock:
                    ids.append(event.id)
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=produce, args=(n,)) for n in range(producers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    got = receiver.wait_for(producers * per_producer, timeout=120)
    received = [r.headers["webhook-id"] for r in got]
    assert sorted(received) == sorted(ids), "every event once, none twice"
    wait_for(
        lambda: WebhookDelivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count() == len(ids),
        timeout=60,
        what="every delivery recorded",
    )
