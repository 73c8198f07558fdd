"""Celery tasks of the balance cache: refresh what was marked stale, and a full reconcile on demand."""

from __future__ import annotations

import logging

from celery import shared_task

from blockchain.chain.client import TRANSIENT_ERRORS
from core.locks import single_instance

logger = logging.getLogger(__name__)


@shared_task(name="wallets.tasks.refresh_stale_balances", ignore_result=True)
@single_instance("wallets:refresh-balances", ttl=600)
def refresh_stale_balances() -> int | None:
    """Read the chain for balances events or sent transactions marked stale."""
    from wallets.balances import refresh_stale_balances as refresh

    try:
        return refresh()
    except TRANSIENT_ERRORS as exc:
        logger.warning("balance refresh: chain unreachable (%s)", exc)
        return None


@shared_task(name="wallets.tasks.reconcile_all_balances", ignore_result=True)
@single_instance("wallets:reconcile-balances", ttl=3600)
def reconcile_all_balances() -> dict | None:
    """Compare every cached balance with the chain, correct it, and store the drift report (on demand:
    the hourly `reconcile_chain` runs the same check among all the others)."""
    from blockchain.indexing.reconcile import run_reconcile

    try:
        report = run_reconcile(only=("balances",))
    except TRANSIENT_ERRORS as exc:
        logger.warning("balance reconcile: chain unreachable (%s)", exc)
        return None
    return {"report": report.pk, "checked": report.checked, "drift": report.drift_count}
