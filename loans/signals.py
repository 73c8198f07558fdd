"""Loan changes that need the chain put an intent in the outbox, in the same DB transaction."""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from loans.chain import enqueue_mark_repaid, enqueue_store_loan
from loans.models import Loan, LoanStatus


@receiver(post_save, sender=Loan, dispatch_uid="loans.enqueue_chain_work")
def enqueue_chain_work(sender, instance: Loan, raw: bool = False, **kwargs) -> None:
    """Idempotent: the intents are keyed by loan and attempt, so re-saving never adds a transaction."""
    if raw:
        return
    if instance.status == LoanStatus.ANCHORING:
        enqueue_store_loan(instance)
    elif instance.status in (LoanStatus.ANCHORED, LoanStatus.DEFAULTED) and instance.repaid_hash:
        enqueue_mark_repaid(instance)
