"""Scheduled loan audits."""

from __future__ import annotations

import logging

from celery import shared_task

from core.api import ChainUnavailable
from core.locks import single_instance

logger = logging.getLogger(__name__)


@shared_task(
    name="loans.tasks.verify_loan_sample",
    ignore_result=True,
    autoretry_for=(ChainUnavailable,),
    retry_backoff=60,
    retry_backoff_max=3600,
    max_retries=6,
)
@single_instance("loans:verify-sample", ttl=3600)
def verify_loan_sample(sample: int = 100) -> dict:
    """The weekly integrity audit: `sample` random non-draft loans against the chain."""
    from loans.services import verify_sample

    report = verify_sample(size=sample, triggered_by="beat: verify-loans-weekly")
    log = logger.error if report.mismatched else logger.info
    log(
        "loan verification report #%s: %d checked, %d matched, %d mismatched, %d not anchored",
        report.pk,
        report.checked,
        report.matched,
        report.mismatched,
        report.not_anchored,
    )
    return {"report": report.pk, "checked": report.checked, "mismatched": report.mismatched}
