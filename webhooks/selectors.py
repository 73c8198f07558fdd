"""Reads of the webhook tables."""

from __future__ import annotations

from django.db.models import QuerySet

from webhooks.catalogue import EVENT_TYPES
from webhooks.models import WebhookDelivery, WebhookEndpoint


def endpoints() -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.order_by("id")


def deliveries() -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.select_related("event").order_by("-id")


def event_types() -> list[dict[str, str]]:
    return [{"type": name, "description": text} for name, text in EVENT_TYPES.items()]
