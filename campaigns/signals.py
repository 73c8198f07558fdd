"""Campaign changes that need the chain put an intent in the outbox, in the same DB transaction."""

from __future__ import annotations

from django.db.models.signals import post_save
from django.dispatch import receiver

from campaigns.models import Campaign, CampaignStatus, Investment, InvestmentStatus
from campaigns.onchain.intents import (
    enqueue_cancel_investment,
    enqueue_create_campaign,
    enqueue_finalize,
    enqueue_record_investment,
)


@receiver(post_save, sender=Campaign, dispatch_uid="campaigns.enqueue_chain_work")
def enqueue_chain_work(sender, instance: Campaign, raw: bool = False, **kwargs) -> None:
    """Idempotent: intents are keyed by campaign and attempt."""
    if raw:
        return
    if instance.status == CampaignStatus.DEPLOYING:
        enqueue_create_campaign(instance)
    elif instance.close_requested_at and instance.contract_address and not instance.finalized_tx_hash:
        enqueue_finalize(instance)


@receiver(post_save, sender=Investment, dispatch_uid="campaigns.investment_intent")
def investment_intent(sender, instance: Investment, raw: bool = False, **kwargs) -> None:
    """Idempotent: keyed by investment and attempt."""
    if raw:
        return
    if instance.status == InvestmentStatus.RECORDING:
        enqueue_record_investment(instance)
    elif instance.status == InvestmentStatus.CONFIRMED and instance.cancel_requested_at:
        enqueue_cancel_investment(instance)
