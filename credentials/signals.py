"""Credential changes that need the chain put an intent in the outbox, in the same DB transaction."""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.signals import wallet_bound
from credentials.chain import (
    enqueue_anchor_batch,
    enqueue_issue,
    enqueue_revocation,
    enqueue_upsert_institution,
)
from credentials.models import (
    BatchStatus,
    Credential,
    CredentialBatch,
    CredentialStatus,
    Institution,
    SyncStatus,
)


@receiver(post_save, sender=Institution, dispatch_uid="credentials.institution_intent")
def institution_intent(sender, instance: Institution, raw: bool = False, **kwargs) -> None:
    if not raw and instance.sync_status == SyncStatus.PENDING and instance.upsert_attempt:
        enqueue_upsert_institution(instance)


@receiver(post_save, sender=Credential, dispatch_uid="credentials.credential_intent")
def credential_intent(sender, instance: Credential, raw: bool = False, **kwargs) -> None:
    """Issuance of a single credential (batched ones go with their batch) and revocations."""
    if raw:
        return
    if (
        instance.status == CredentialStatus.PENDING
        and instance.batch_id is None
        and instance.document is not None
    ):
        enqueue_issue(instance)
    elif instance.status == CredentialStatus.ISSUED and instance.revocation_requested_at:
        enqueue_revocation(instance)


@receiver(post_save, sender=CredentialBatch, dispatch_uid="credentials.batch_intent")
def batch_intent(sender, instance: CredentialBatch, raw: bool = False, **kwargs) -> None:
    if not raw and instance.status == BatchStatus.PENDING:
        enqueue_anchor_batch(instance)


@receiver(wallet_bound, dispatch_uid="credentials.link_on_wallet_bound")
def link_on_wallet_bound(sender, user, **kwargs) -> None:
    from credentials.services import link_credentials_of_wallet

    link_credentials_of_wallet(user=user)
