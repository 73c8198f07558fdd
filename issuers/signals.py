"""A company save that a service declared registration on puts registerIssuer in the outbox, same
transaction."""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from blockchain.outbox.declared import enqueue_declared
from issuers.models import Company


@receiver(post_save, sender=Company, dispatch_uid="issuers.enqueue_registration")
def enqueue_registration(sender, instance: Company, raw: bool = False, **kwargs) -> None:
    """Only declared intents (idempotent: keyed by company and attempt)."""
    if not raw:
        enqueue_declared(instance)
