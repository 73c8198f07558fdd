"""A company whose registration is requested puts registerIssuer in the outbox, same transaction."""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from issuers.chain import enqueue_register_issuer
from issuers.models import Company, RegistrationStatus


@receiver(post_save, sender=Company, dispatch_uid="issuers.enqueue_registration")
def enqueue_registration(sender, instance: Company, raw: bool = False, **kwargs) -> None:
    """Idempotent: keyed by company and attempt."""
    if not raw and instance.registration_status == RegistrationStatus.REGISTERING:
        enqueue_register_issuer(instance)
