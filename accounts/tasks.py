"""Scheduled account work."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken


@shared_task(name="accounts.tasks.flush_expired_tokens", ignore_result=True)
def flush_expired_tokens() -> int:
    """Forget refresh tokens past their expiry (and their blacklist rows, by cascade): every sign-in
    and refresh records one, and an expired token is refused on its own. What simplejwt's
    `flushexpiredtokens` command does, on the beat schedule."""
    deleted, _ = OutstandingToken.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted
