"""A company save that a service declared registration on puts registerIssuer in the outbox, same
transaction; and the signal other apps hear when a company's wallet is proven."""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import Signal, receiver

from blockchain.outbox.declared import enqueue_declared
from issuers.models import Company

# Sent inside the transaction that saved a company with a wallet its owner just proved (creation, or
# a new wallet); kwargs: company. The credentials app links the wallet's KYB credentials.
company_wallet_proven = Signal()


@receiver(post_save, sender=Company, dispatch_uid="issuers.enqueue_registration")
def enqueue_registration(sender, instance: Company, raw: bool = False, **kwargs) -> None:
    """Only declared intents (idempotent: keyed by company and attempt)."""
    if not raw:
        enqueue_declared(instance)
