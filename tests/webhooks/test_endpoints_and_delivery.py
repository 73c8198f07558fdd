"""Webhooks: endpoints by API, deliveries signed as Standard Webhooks says, retries, dead letters, the
SSRF guard and the failing-endpoint switch — delivered over real HTTP to a receiver on loopback."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.exceptions import InvalidTag
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from audit.models import AuditEvent, AuditSource
from tests.support.webhook_receiver import WebhookReceiver
from webhooks import delivery, services, signing
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.services import AnnouncedOutsideTransaction, announce

pytestmark = pytest.mark.django_db

LOAN = {"id": 7, "status": "anchored", "principal": "2500.00"}
# A retry window that started long ago, whatever the wall clock reads: any next attempt falls after it.
WINDOW_LONG_OVER = datetime(2020, 1, 1, tzinfo=UTC)


@pytest.fixture
def receiver():
    with WebhookReceiver() as r:
        yield r


@pytest.fixture
def operator(auth_client):
    return auth_client("operator")


def _register(operator, url: str, event_types=("loan.anchored",), **extra):
    response = operator.post(
        "/api/webhooks/endpoints/", {"url": url, "event_types": list(event_types), **extra}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def _announce(event_type: str = "loan.anchored", data: dict | None = None) -> WebhookEvent | None:
    with transaction.atomic():
        return announce(event_type, data=data or LOAN)


# -- endpoints ---------------------------------------------------------------------------------------
def test_an_operator_registers_an_endpoint_and_sees_the_secret_once(operator, receiver):
    created = _register(operator, receiver.url(), description="ERP")
    assert created["secret"].startswith("whsec_") and created["event_types"] == ["loan.anchored"]
    shown = operator.get(f"/api/webhooks/endpoints/{created['id']}/").json()
    assert "secret" not in shown and shown["description"] == "ERP"
    listed = operator.get("/api/webhooks/endpoints/").json()
    assert created["secret"] not in json.dumps(listed)
    stored = WebhookEndpoint.objects.get(pk=created["id"]).secret_ciphertext
    assert created["secret"] not in stored and created["secret"].removeprefix("whsec_") not in stored
    assert signing.unseal(stored).reveal() == created["secret"]


@pytest.mark.parametrize("role", ["investor", "issuer", "compliance"])
def test_only_operators_manage_webhooks(auth_client, role, receiver):
    client = auth_client(role)
    for path in ("/api/webhooks/endpoints/", "/api/webhooks/deliveries/", "/api/webhooks/event-types/"):
        assert client.get(path).status_code == 403
    refused = client.post(
        "/api/webhooks/endpoints/", {"url": receiver.url(), "event_types": ["loan.anchored"]}, format="json"
    )
    assert refused.status_code == 403 and not WebhookEndpoint.objects.exists()


def test_anonymous_callers_are_asked_to_authenticate(api_client):
    assert api_client.get("/api/webhooks/endpoints/").status_code == 401


def test_unknown_event_types_are_refused_by_name(operator, receiver):
    response = operator.post(
        "/api/webhooks/endpoints/", {"url": receiver.url(), "event_types": ["loan.exploded"]}, format="json"
    )
    assert response.status_code == 400 and "loan.exploded" in response.content.decode()


def test_the_catalogue_lists_every_documented_event_type(operator):
    types = {row["type"] for row in operator.get("/api/webhooks/event-types/").json()}
    documented = {
        "company.kyb_approved", "company.registered", "campaign.active", "campaign.successful",
        "campaign.failed", "campaign.cancelled", "investment.held", "investment.confirmed",
        "investment.rejected", "investment.cancelled", "investment.refunded", "investment.updated",
        "certificate.minted", "certificate.transferred", "credential.issued", "credential.revoked",
        "loan.anchored", "loan.repaid", "loan.verification_failed", "chain.transaction_failed",
        "indexer.reorg", "reconcile.drift",
    }  # fmt: skip
    assert documented <= types


@pytest.mark.parametrize(
    "url",
    [
        "http://partner.example.com/hooks",
        "https://127.0.0.1/hooks",
        "https://10.1.2.3/hooks",
        "https://192.168.0.10/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hooks",
        "https://[::ffff:127.0.0.1]/hooks",
        "https://user:pass@partner.example.com/hooks",
        "ftp://partner.example.com/hooks",
    ],
)
def test_production_refuses_urls_that_are_not_public_https(operator, settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    response = operator.post(
        "/api/webhooks/endpoints/", {"url": url, "event_types": ["loan.anchored"]}, format="json"
    )
    assert response.status_code == 400, response.content
    assert response.json()["code"] in ("unsafe_url", "invalid") and not WebhookEndpoint.objects.exists()


def test_production_accepts_a_public_https_url(operator, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    created = _register(operator, "https://hooks.partner.example/ledgerbridge")
    assert created["url"] == "https://hooks.partner.example/ledgerbridge"


# -- announcing ----------------------------------------------------------------------------------------
def test_an_event_is_written_with_the_change_and_rolled_back_with_it(operator, receiver):
    endpoint = _register(operator, receiver.url())
    with pytest.raises(RuntimeError, match="business rule"), transaction.atomic():
        announce("loan.anchored", data=LOAN)
        raise RuntimeError("a business rule refused the change after the announcement")
    assert not WebhookEvent.objects.exists() and not WebhookDelivery.objects.exists()
    event = _announce()
    assert event is not None
    row = WebhookDelivery.objects.get(event=event)
    assert (row.endpoint_id, row.status) == (endpoint["id"], DeliveryStatus.PENDING)


@pytest.mark.django_db(transaction=True)
def test_announcing_outside_a_transaction_is_an_error():
    with pytest.raises(AnnouncedOutsideTransaction):
        announce("loan.anchored", data=LOAN)


def test_nobody_listening_writes_nothing(operator, receiver):
    _register(operator, receiver.url(), event_types=["loan.repaid"])
    assert _announce("loan.anchored") is None
    assert not WebhookEvent.objects.exists()


def test_an_inactive_endpoint_gets_nothing(operator, receiver):
    _register(operator, receiver.url(), active=False)
    assert _announce() is None


# -- delivering ----------------------------------------------------------------------------------------
def test_a_delivery_verifies_with_the_standard_webhooks_library(operator, receiver):
    created = _register(operator, receiver.url())
    event = _announce()
    assert delivery.deliver() == 1
    (got,) = receiver.wait_for(1)
    payload = Webhook(created["secret"]).verify(got.body, got.headers)
    assert payload["type"] == "loan.anchored" and payload["data"] == LOAN and "timestamp" in payload
    assert got.headers["webhook-id"] == event.id and got.headers["content-type"] == "application/json"
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret().reveal()).verify(got.body, got.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(created["secret"]).verify(got.body.replace(b"2500.00", b"9500.00"), got.headers)
    row = WebhookDelivery.objects.get(event=event)
    assert (row.status, row.attempts, row.last_status_code, row.next_attempt_at) == (
        DeliveryStatus.SUCCEEDED,
        1,
        204,
        None,
    )


def test_a_failed_attempt_is_logged_and_retried_later_with_the_same_id(operator, receiver):
    _register(operator, receiver.url())
    receiver.answers.extend([503])
    receiver.reply_body = b"upstream busy " + b"x" * 5000
    event = _announce()
    before = timezone.now()
    delivery.deliver()
    row = WebhookDelivery.objects.get(event=event)
    assert row.status == DeliveryStatus.FAILED and row.last_status_code == 503
    assert row.next_attempt_at > before, "the retry waits for its backoff"
    (log,) = row.attempt_log.all()
    assert log.status_code == 503 and log.response_excerpt.startswith("upstream busy")
    assert len(log.response_excerpt) <= delivery.EXCERPT_BYTES and log.latency_ms is not None
    assert delivery.deliver() == 0, "not due yet"
    WebhookDelivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    assert delivery.deliver() == 1
    first, second = receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == event.id
    row.refresh_from_db()
    assert (row.status, row.attempts) == (DeliveryStatus.SUCCEEDED, 2)


def test_backoff_grows_exponentially_with_jitter(settings):
    settings.WEBHOOK_BACKOFF_BASE_SECONDS, settings.WEBHOOK_BACKOFF_MAX_SECONDS = 5, 3600
    delays = [delivery.backoff(n).total_seconds() for n in range(1, 12)]
    for n, seconds in enumerate(delays, start=1):
        nominal = min(5 * 2 ** (n - 1), 3600)
        assert 0.8 * nominal <= seconds <= 1.2 * nominal


def test_a_delivery_whose_window_ends_is_dead(operator, receiver):
    _register(operator, receiver.url())
    receiver.default_status = 500
    event = _announce()
    WebhookDelivery.objects.filter(event=event).update(window_started_at=WINDOW_LONG_OVER)
    delivery.deliver()
    row = WebhookDelivery.objects.get(event=event)
    assert (row.status, row.next_attempt_at) == (DeliveryStatus.DEAD, None)
    listed = operator.get("/api/webhooks/deliveries/", {"status": "dead"}).json()["results"]
    assert [d["id"] for d in listed] == [row.pk] and listed[0]["event_id"] == event.id


def test_redelivery_by_api_sends_a_dead_delivery_again(operator, receiver):
    _register(operator, receiver.url())
    receiver.answers.extend([500])
    event = _announce()
    WebhookDelivery.objects.filter(event=event).update(window_started_at=WINDOW_LONG_OVER)
    delivery.deliver()
    row = WebhookDelivery.objects.get(event=event)
    assert row.status == DeliveryStatus.DEAD
    response = operator.post(f"/api/webhooks/deliveries/{row.pk}/redeliver/")
    assert response.status_code == 202 and response.json()["status"] == "pending"
    assert delivery.deliver() == 1
    detail = operator.get(f"/api/webhooks/deliveries/{row.pk}/").json()
    assert detail["status"] == "succeeded" and [a["status_code"] for a in detail["attempt_log"]] == [500, 204]
    assert json.loads(detail["body"])["data"] == LOAN


def test_after_a_rotation_deliveries_are_signed_with_the_new_secret_only(operator, receiver):
    created = _register(operator, receiver.url())
    rotated = operator.post(f"/api/webhooks/endpoints/{created['id']}/rotate-secret/").json()["secret"]
    assert rotated.startswith("whsec_") and rotated != created["secret"]
    _announce()
    delivery.deliver()
    (got,) = receiver.wait_for(1)
    Webhook(rotated).verify(got.body, got.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(created["secret"]).verify(got.body, got.headers)


def test_a_crashed_worker_leaves_a_lease_the_sweep_delivers_after(operator, receiver):
    _register(operator, receiver.url())
    event = _announce()
    (claimed,) = delivery.claim()  # the worker dies here, before sending
    row = WebhookDelivery.objects.get(pk=claimed.pk)
    assert row.next_attempt_at > timezone.now() and delivery.deliver() == 0, "leased"
    WebhookDelivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())  # the lease ends
    assert delivery.deliver() == 1
    (got,) = receiver.wait_for(1)
    assert got.headers["webhook-id"] == event.id


def test_the_ssrf_guard_runs_again_at_delivery_time(operator, receiver, settings):
    _register(operator, receiver.url())  # accepted while private targets were allowed
    event = _announce()
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    delivery.deliver()
    row = WebhookDelivery.objects.get(event=event)
    assert row.status == DeliveryStatus.FAILED and row.last_error.startswith("refused:")
    assert receiver.received == [], "nothing was sent to the loopback address"


def test_a_host_name_that_resolves_to_loopback_is_refused_at_delivery(operator, receiver, settings):
    _register(operator, f"http://localhost:{receiver.port}/hooks")
    event = _announce()
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    delivery.deliver()
    assert WebhookDelivery.objects.get(event=event).last_error.startswith("refused:")
    assert receiver.received == []


def test_an_endpoint_that_keeps_failing_is_disabled_with_an_audit_event(operator, receiver, settings):
    settings.WEBHOOK_DISABLE_AFTER_FAILURES, settings.WEBHOOK_DISABLE_AFTER_HOURS = 3, 0
    created = _register(operator, receiver.url())
    receiver.default_status = 502
    for _ in range(2):
        _announce()
    delivery.deliver()
    assert WebhookEndpoint.objects.get(pk=created["id"]).active, "two failures are not enough"
    _announce()
    delivery.deliver()
    endpoint = WebhookEndpoint.objects.get(pk=created["id"])
    assert (
        not endpoint.active
        and endpoint.disabled_at is not None
        and "3 failed attempts" in endpoint.disabled_reason
    )
    audit = AuditEvent.objects.get(action="webhooks.endpoint_disabled")
    assert (audit.source, audit.subject_id) == (AuditSource.SYSTEM, str(endpoint.pk))
    assert _announce() is None, "a disabled endpoint is announced nothing"
    # Re-activating it gives it a fresh start, and what waited is due again.
    receiver.default_status = 204
    response = operator.patch(f"/api/webhooks/endpoints/{endpoint.pk}/", {"active": True}, format="json")
    assert response.status_code == 200 and response.json()["consecutive_failures"] == 0
    assert delivery.deliver() == 3
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SUCCEEDED}


def test_a_success_resets_the_failure_count(operator, receiver):
    created = _register(operator, receiver.url())
    receiver.answers.extend([500, 500])
    _announce()
    _announce()
    delivery.deliver()
    assert WebhookEndpoint.objects.get(pk=created["id"]).consecutive_failures == 2
    _announce()
    delivery.deliver()
    endpoint = WebhookEndpoint.objects.get(pk=created["id"])
    assert (endpoint.consecutive_failures, endpoint.failing_since) == (0, None)


def test_the_delivery_log_filters_by_endpoint_event_type_and_status(operator, receiver):
    first = _register(operator, receiver.url("/a"), event_types=["loan.anchored", "loan.repaid"])
    second = _register(operator, receiver.url("/b"), event_types=["loan.repaid"])
    _announce("loan.anchored")
    _announce("loan.repaid")

    def ids(**query) -> int:
        return len(operator.get("/api/webhooks/deliveries/", query).json()["results"])

    assert ids() == 3
    assert ids(endpoint=first["id"]) == 2 and ids(endpoint=second["id"]) == 1
    assert ids(event_type="loan.repaid") == 2 and ids(status="pending") == 3 and ids(status="succeeded") == 0
    assert operator.get("/api/webhooks/deliveries/", {"evnt_type": "x"}).status_code == 400
    assert operator.get("/api/webhooks/deliveries/", {"status": "lost"}).status_code == 400


def test_services_refuse_to_redeliver_to_a_disabled_endpoint(operator, receiver):
    created = _register(operator, receiver.url())
    event = _announce()
    operator.patch(f"/api/webhooks/endpoints/{created['id']}/", {"active": False}, format="json")
    row = WebhookDelivery.objects.get(event=event)
    response = operator.post(f"/api/webhooks/deliveries/{row.pk}/redeliver/")
    assert response.status_code == 409 and response.json()["code"] == "endpoint_inactive"


def test_a_representation_that_fails_still_announces_its_subject(operator, receiver, make_user):
    _register(operator, receiver.url())
    subject, _ = make_user("investor")

    def broken() -> dict:
        raise LookupError("the row is gone")

    with transaction.atomic():
        event = announce("loan.anchored", data=broken, subject=subject)
        assert WebhookEndpoint.objects.exists(), "the caller's transaction is still usable"
    body = json.loads(event.body)
    assert body["data"] == {
        "subject": {"type": "accounts.user", "id": str(subject.pk)},
        "representation_unavailable": True,
    }


def test_settled_events_past_the_retention_are_purged_and_unsettled_ones_kept(operator, receiver):
    _register(operator, receiver.url())
    delivered = _announce()
    delivery.deliver()
    receiver.default_status = 500
    failing = _announce()
    delivery.deliver()
    WebhookEvent.objects.update(created_at=timezone.now() - timedelta(days=31))
    assert services.purge_settled(older_than_days=30) == 1
    assert list(WebhookEvent.objects.values_list("id", flat=True)) == [failing.id]
    assert not WebhookDelivery.objects.filter(event_id=delivered.id).exists()


def test_a_sealed_secret_is_bound_to_the_key_and_refuses_tampering(settings):
    secret = signing.new_secret()
    stored = signing.seal(secret)
    assert signing.unseal(stored) == secret and signing.seal(secret) != stored, "a fresh nonce each time"
    version, _, payload = stored.partition(":")
    flipped = bytearray(base64.b64decode(payload))
    flipped[-1] ^= 1
    with pytest.raises(InvalidTag):
        signing.unseal(f"{version}:{base64.b64encode(bytes(flipped)).decode()}")
    settings.WEBHOOK_SECRETS_KEY = "another key entirely, so the stored secrets cannot be read"
    with pytest.raises(InvalidTag):
        signing.unseal(stored)
