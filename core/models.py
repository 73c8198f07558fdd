"""The platform's own rows (no domain app's): the `Idempotency-Key` records of `core.idempotency`."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class IdempotencyState(models.TextChoices):
    RUNNING = "running"  # claimed; a request holding the row lock is executing (or died and rolled back)
    COMPLETED = "completed"  # the response below was stored in the transaction that made the effect


class IdempotencyRecord(models.Model):
    """One `Idempotency-Key` of one user: the request it was first used with and the response sent.

    Written in the same database transaction as the request's effect (core.idempotency), so a stored
    response always has its effect and an effect always has its stored response."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64, help_text="SHA-256 of method, path, query and body")
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    state = models.CharField(
        max_length=16, choices=IdempotencyState.choices, default=IdempotencyState.RUNNING
    )
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    body = models.BinaryField(default=b"", blank=True)
    headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_one_key_per_user")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_at")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.key})"
