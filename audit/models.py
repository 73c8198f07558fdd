"""The audit log: who did what, from where, to which rows, with which chain transactions."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditSource(models.TextChoices):
    API = "api", "API"
    ADMIN = "admin", "Admin"
    COMMAND = "command", "Management command"
    SYSTEM = "system", "Platform (automatic)"  # a decision the platform took itself, e.g. disabling a webhook


class AuditEvent(models.Model):
    """One state-changing API call, admin action or management command. Append-only: the database
    refuses UPDATE and DELETE (migration 0002), so the log cannot be edited after the fact."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    source = models.CharField(max_length=16, choices=AuditSource.choices)
    # No FK constraint and no cascade: deleting a user must neither fail nor rewrite history.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_label = models.CharField(
        max_length=150, blank=True, help_text="username, or the OS user of a command"
    )
    role = models.CharField(max_length=32, blank=True)
    action = models.CharField(max_length=200, db_index=True)
    method = models.CharField(max_length=10, blank=True)
    path = models.CharField(max_length=500, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    subject_type = models.CharField(max_length=100, blank=True, db_index=True)
    subject_id = models.CharField(max_length=100, blank=True, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True, db_index=True)
    # [{"model": "campaigns.campaign", "pk": "7", "op": "update",
    #   "fields": {"status": ["submitted", "approved"]}}]
    changes = models.JSONField(default=list, blank=True)
    # Chain transactions (outbox rows) this action enqueued; their hashes are read from the outbox.
    outbox_ids = models.JSONField(default=list, blank=True)
    outcome = models.CharField(max_length=200, blank=True, help_text="empty on success, else the error")

    class Meta:
        ordering = ("-at", "-id")
        indexes = [models.Index(fields=["subject_type", "subject_id", "-at"], name="audit_subject_at")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(source__in=AuditSource.values), name="audit_source_known"
            )
        ]

    def __str__(self) -> str:
        who = self.actor_label or "anonymous"
        return f"{self.at:%Y-%m-%d %H:%M:%S} {who} {self.action}"
