"""Webhooks: partner endpoints, the events announced to them and each delivery's log.

An event is written in the same database transaction as the change it describes (`services.announce`),
with one delivery row per subscribed endpoint: the transactional outbox of notifications, as
`ChainTransaction` is the chain's. Workers deliver after commit; the beat sweep delivers what a lost
kick or a crashed worker left behind.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class WebhookEndpoint(models.Model):
    """A partner's HTTPS endpoint and the event types it wants."""

    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True, default="")
    event_types = models.JSONField(default=list, help_text="Event type names, e.g. investment.confirmed.")
    active = models.BooleanField(default=True)
    # AES-GCM ciphertext of the signing secret (webhooks.signing): the key never sits in the table.
    secret_ciphertext = models.TextField(editable=False)
    secret_rotated_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Health: consecutive failed attempts since the last success, and since when.
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_at = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_reason = models.CharField(max_length=300, blank=True, default="", editable=False)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"webhook endpoint {self.pk} ({self.url})"

    def wants(self, event_type: str) -> bool:
        return event_type in (self.event_types or ())


class WebhookEvent(models.Model):
    """One announced change. `body` is the exact JSON sent (the same bytes on every retry)."""

    id = models.CharField(primary_key=True, max_length=40, editable=False)  # msg_<32 hex>
    event_type = models.CharField(max_length=64, db_index=True)
    subject_type = models.CharField(max_length=100, blank=True, default="")
    subject_id = models.CharField(max_length=100, blank=True, default="")
    body = models.TextField()
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["subject_type", "subject_id"], name="webhook_event_subject_idx")]

    def __str__(self) -> str:
        return f"{self.event_type} {self.id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # not attempted yet (or queued again by a redelivery)
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed, will retry"
    DEAD = "dead", "Dead (retries exhausted)"


RETRYING_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.FAILED)


class WebhookDelivery(models.Model):
    """One event for one endpoint: retried with backoff until a 2xx or the retry window ends."""

    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # When a worker may take it next: the backoff of a failure, or a claim's lease (a worker that
    # dies mid-attempt leaves it to the sweep once the lease ends). Null once settled.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True, default="")
    delivered_at = models.DateTimeField(null=True, blank=True)
    # When the retry window started: the event's creation, or the last redelivery request.
    window_started_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="webhook_delivery_once_per_endpoint"),
            models.CheckConstraint(
                condition=~models.Q(status__in=["pending", "failed"])
                | models.Q(next_attempt_at__isnull=False),
                name="webhook_delivery_retrying_has_a_time",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_delivery_due_idx",
                condition=models.Q(status__in=["pending", "failed"]),
            ),
            models.Index(fields=["endpoint", "status"], name="webhook_delivery_endpoint_idx"),
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} of {self.event_id} to endpoint {self.endpoint_id}"


class WebhookAttempt(models.Model):
    """One POST of a delivery: what came back, how fast (the delivery log)."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True, default="")
    response_excerpt = models.CharField(max_length=1024, blank=True, default="")

    class Meta:
        ordering = ["delivery_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="webhook_attempt_number_once"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"


class AnnouncedFacts(models.Model):
    """What partners were last told about one entity (its shown status and the like): a change is
    announced when the entity's facts, derived afresh, differ from these."""

    subject_type = models.CharField(max_length=100)
    subject_id = models.CharField(max_length=100)
    facts = models.JSONField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["subject_type", "subject_id"], name="announced_facts_once"),
        ]

    def __str__(self) -> str:
        return f"{self.subject_type} {self.subject_id}: {self.facts}"
