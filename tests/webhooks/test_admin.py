"""Operators manage webhooks in the admin as in the API: the secret is shown once on registration,
a private URL is refused in production, deliveries are read-only and redelivered by an action;
compliance officers do not see webhooks at all."""

from __future__ import annotations

import re

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.db import transaction
from django.test import Client

from webhooks import services, signing
from webhooks.catalogue import EVENT_TYPES
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from webhooks.services import announce

pytestmark = pytest.mark.django_db

ADD = "/admin/webhooks/webhookendpoint/add/"


@pytest.fixture
def staff(make_user):
    def login(role: str) -> Client:
        client = Client()
        client.force_login(make_user(role)[0])
        return client

    return login


def test_an_operator_registers_an_endpoint_and_reads_its_secret_once(staff):
    operator = staff("operator")
    form = operator.get(ADD).content.decode()
    assert all(name in form for name in EVENT_TYPES), "every event type is offered"
    response = operator.post(
        ADD,
        {
            "url": "http://127.0.0.1:9/hooks",
            "description": "ERP",
            "event_types": ["loan.anchored"],
            "active": "on",
        },
        follow=True,
    )
    assert response.status_code == 200
    (message,) = [str(m) for m in get_messages(response.wsgi_request) if "secret" in str(m)]
    secret = re.search(r"whsec_[A-Za-z0-9+/=]+", message).group(0)
    endpoint = WebhookEndpoint.objects.get()
    assert signing.unseal(endpoint.secret_ciphertext).reveal() == secret
    assert endpoint.event_types == ["loan.anchored"] and endpoint.created_by is not None
    page = operator.get(f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/").content.decode()
    assert secret not in page and endpoint.secret_ciphertext not in page


def test_production_refuses_a_private_url_in_the_admin_too(staff, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    response = staff("operator").post(
        ADD, {"url": "https://169.254.169.254/latest", "event_types": ["loan.anchored"], "active": "on"}
    )
    assert response.status_code == 200 and "private, loopback or link-local" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_compliance_officers_do_not_see_webhooks(staff):
    compliance = staff("compliance")
    assert compliance.get("/admin/webhooks/webhookendpoint/").status_code == 403
    assert compliance.get("/admin/webhooks/webhookdelivery/").status_code == 403
    assert compliance.get(ADD).status_code == 403
    assert "/admin/webhooks/" not in compliance.get("/admin/").content.decode()


def test_an_operator_redelivers_from_the_delivery_log(staff):
    services.create_endpoint(url="http://127.0.0.1:9/hooks", event_types=["loan.anchored"])
    with transaction.atomic():
        announce("loan.anchored", data={"loan_id": "LN-9"})
    row = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=row.pk).update(status=DeliveryStatus.DEAD, next_attempt_at=None)
    operator = staff("operator")
    page = operator.get(f"/admin/webhooks/webhookdelivery/{row.pk}/change/").content.decode()
    assert "LN-9" in page and 'name="_save"' not in page, "read-only, with the body sent"
    operator.post(
        "/admin/webhooks/webhookdelivery/",
        {"action": "redeliver", ACTION_CHECKBOX_NAME: [row.pk]},
        follow=True,
    )
    row.refresh_from_db()
    assert row.status == DeliveryStatus.PENDING and row.next_attempt_at is not None
