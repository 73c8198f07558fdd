"""Scheduled campaign work."""

from __future__ import annotations

from celery import shared_task

from core.locks import single_instance


@shared_task(name="campaigns.tasks.close_ended_campaigns", ignore_result=True)
@single_instance("campaigns:close-ended", ttl=300)
def close_ended_campaigns() -> int:
    """Request finalize() for every active campaign past its end date."""
    from campaigns import services

    return services.close_ended_campaigns()
