"""Celery tasks of webhook delivery: one per committed transaction's deliveries, and the beat sweep."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from core.locks import single_instance

logger = logging.getLogger(__name__)


def kick_delivery(ids: list[int]) -> None:
    """Ask a worker to deliver `ids`. Never raises: what a lost kick leaves, the sweep delivers."""
    size = settings.WEBHOOK_CLAIM_BATCH
    for start in range(0, len(ids), size):
        try:
            deliver_webhooks.apply_async((ids[start : start + size],), retry=False)
        except Exception as exc:
            logger.warning("could not queue webhook delivery (the sweep will): %s", exc)
            return


@shared_task(name="webhooks.tasks.deliver_webhooks", ignore_result=True, acks_late=True)
def deliver_webhooks(ids: list[int]) -> int:
    """Deliver these deliveries if they are still due (a redelivered or already sent one is skipped)."""
    from webhooks.delivery import deliver

    return deliver([int(pk) for pk in ids])


@shared_task(name="webhooks.tasks.sweep_webhooks", ignore_result=True)
@single_instance("webhooks:sweep", ttl=300)
def sweep_webhooks() -> int:
    """Deliver everything due: retries whose backoff ended, kicks that never arrived, expired leases."""
    from webhooks.delivery import deliver

    total = 0
    for _ in range(settings.WEBHOOK_SWEEP_ROUNDS):
        done = deliver()
        total += done
        if done < settings.WEBHOOK_CLAIM_BATCH:
            break
    return total


@shared_task(name="webhooks.tasks.purge_settled_webhooks", ignore_result=True)
@single_instance("webhooks:purge", ttl=3600)
def purge_settled_webhooks() -> int:
    """Daily: drop settled events past the retention, so the delivery log stays bounded."""
    from webhooks.services import purge_settled

    return purge_settled()
