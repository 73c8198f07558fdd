"""Credential saves that a service declared chain work on put the intent in the outbox, in the same
DB transaction; wallet binding, and a company's proven wallet, link the wallet's credentials."""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.signals import wallet_bound
from blockchain.outbox.declared import enqueue_declared
from credentials.models import Credential, CredentialBatch, Institution
from issuers.signals import company_wallet_proven


@receiver(post_save, sender=Institution, dispatch_uid="credentials.institution_intent")
@receiver(post_save, sender=Credential, dispatch_uid="credentials.credential_intent")
@receiver(post_save, sender=CredentialBatch, dispatch_uid="credentials.batch_intent")
def enqueue_declared_intents(sender, instance, raw: bool = False, **kwargs) -> None:
    """Only declared intents (idempotent: keyed by row and attempt)."""
    if not raw:
        enqueue_declared(instance)


@receiver(wallet_bound, dispatch_uid="credentials.link_on_wallet_bound")
def link_on_wallet_bound(sender, user, **kwargs) -> None:
    from credentials.services import link_credentials_of_wallet

    link_credentials_of_wallet(user=user)


@receiver(company_wallet_proven, dispatch_uid="credentials.link_on_company_wallet_proven")
def link_on_company_wallet_proven(sender, company, **kwargs) -> None:
    """KYB credentials issued for the wallet before its company existed (or before it moved there)."""
    from credentials.services import link_credentials_of_wallet

    link_credentials_of_wallet(company=company)
