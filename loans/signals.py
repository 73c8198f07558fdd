"""A loan save that a service declared chain work on puts the intent in the outbox, same transaction."""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from blockchain.outbox.declared import enqueue_declared
from loans.models import Loan


@receiver(post_save, sender=Loan, dispatch_uid="loans.enqueue_chain_work")
def enqueue_chain_work(sender, instance: Loan, raw: bool = False, **kwargs) -> None:
    """Only declared intents (idempotent: keyed by loan and attempt)."""
    if not raw:
        enqueue_declared(instance)
