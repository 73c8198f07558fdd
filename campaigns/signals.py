"""Campaign and investment saves that a service declared chain work on put the intent in the outbox,
in the same DB transaction."""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from blockchain.outbox.declared import enqueue_declared
from campaigns.models import Campaign, Investment


@receiver(post_save, sender=Campaign, dispatch_uid="campaigns.enqueue_chain_work")
@receiver(post_save, sender=Investment, dispatch_uid="campaigns.investment_intent")
def enqueue_declared_intents(sender, instance, raw: bool = False, **kwargs) -> None:
    """Only declared intents (idempotent: keyed by row and attempt)."""
    if not raw:
        enqueue_declared(instance)
