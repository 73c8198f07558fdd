"""Celery tasks of the write path: sender (kicked on commit), confirmer and sweep (beat)."""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import timedelta

import requests
from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.utils import timezone

from config.locks import single_instance

logger = logging.getLogger(__name__)

# Node unreachable or timing out: retry with backoff; the rows stay queued and lose nothing.
TRANSIENT_ERRORS = (requests.ConnectionError, requests.Timeout, ConnectionError, TimeoutError)


@shared_task(
    name="blockchain.tasks.send_outbox",
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=None,
    acks_late=True,
    ignore_result=True,
)
def send_outbox() -> dict:
    """Drain queued outbox rows: simulate, sign at allocated nonces, broadcast."""
    from blockchain.sender import send_queued
    from blockchain.services import kick_sender

    report = send_queued(on_backlog=kick_sender)
    return asdict(report)


@shared_task(
    name="blockchain.tasks.send_rebroadcast",
    ignore_result=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=2,
    max_retries=10,
)
def send_rebroadcast(transaction_id: int) -> None:
    """Broadcast one row's stored bytes again (operator action)."""
    from blockchain.models import ChainTransaction, TxStatus
    from blockchain.sender import broadcast

    tx = ChainTransaction.objects.filter(
        pk=transaction_id, status__in=[TxStatus.SIGNED, TxStatus.SENT]
    ).first()
    if tx is not None:
        broadcast([tx])


@shared_task(name="blockchain.tasks.confirm_outbox", ignore_result=True)
@single_instance("blockchain:confirm-outbox", ttl=120)
def confirm_outbox() -> dict | None:
    """Receipts for every in-flight hash: mined, confirmed, failed, reorged, stuck."""
    from blockchain.confirmer import confirm_pending

    try:
        return asdict(confirm_pending())
    except TRANSIENT_ERRORS as exc:
        logger.warning("confirmer: chain unreachable (%s); next pass retries", exc)
        return None


@shared_task(name="blockchain.tasks.sweep_outbox", ignore_result=True)
@single_instance("blockchain:sweep-outbox", ttl=120)
def sweep_outbox() -> dict:
    """Catch what a lost message or a crash left behind.

    - queued rows (their on-commit kick never reached the broker): kick the sender;
    - signed rows older than OUTBOX_REBROADCAST_SECONDS (a crash between commit and broadcast, or
      the node was down): broadcast their stored bytes again.
    """
    from blockchain.models import ChainTransaction, TxStatus
    from blockchain.sender import broadcast
    from blockchain.services import kick_sender

    queued = ChainTransaction.objects.filter(status=TxStatus.QUEUED, chain_id=settings.CHAIN_ID).count()
    if queued:
        kick_sender()
    cutoff = timezone.now() - timedelta(seconds=settings.OUTBOX_REBROADCAST_SECONDS)
    stranded = list(
        ChainTransaction.objects.filter(
            status=TxStatus.SIGNED, chain_id=settings.CHAIN_ID, signed_at__lt=cutoff
        ).order_by("nonce")[:500]
    )
    report = {"queued": queued, "rebroadcast": 0}
    if stranded:
        try:
            result = broadcast(stranded)
            report["rebroadcast"] = result.sent
        except TRANSIENT_ERRORS as exc:
            logger.warning("sweep: chain unreachable (%s)", exc)
    return report


@shared_task(name="blockchain.tasks.reconcile_nonces", ignore_result=True)
@single_instance("blockchain:reconcile-nonces", ttl=120)
def reconcile_nonces() -> dict | None:
    """Reconcile the signer's allocator with the chain and fill any nonce gap."""
    from blockchain.client import get_web3
    from blockchain.nonces import reconcile_nonce_account
    from blockchain.sender import fill_nonce_gaps
    from blockchain.signer import get_signer

    try:
        w3 = get_web3()
        result = reconcile_nonce_account(w3=w3, chain_id=settings.CHAIN_ID, address=get_signer().address)
    except TRANSIENT_ERRORS as exc:
        logger.warning("nonce reconcile: chain unreachable (%s)", exc)
        return None
    if result.gaps:
        fill_nonce_gaps(result.gaps, w3=w3)
    return asdict(result)


@worker_ready.connect
def _reconcile_on_worker_start(sender=None, **_kwargs) -> None:
    # DESIGN rule 3: on start-up the allocator is reconciled with the chain.
    try:
        reconcile_nonces.apply_async(retry=False)
    except Exception as exc:
        logger.warning("could not queue the start-up nonce reconcile: %s", exc)


@shared_task(name="blockchain.tasks.index_chain_events", ignore_result=True)
def index_chain_events() -> dict | None:
    """One indexer run (beat); skipped while `poll_blockchain` or another run holds the lock."""
    from blockchain.indexer import INDEXER_LOCK, Indexer
    from config.locks import held_lock

    with held_lock(INDEXER_LOCK, ttl=settings.INDEXER_LOCK_TTL) as lock:
        if lock is None:
            return None
        try:
            report = Indexer().run(max_seconds=settings.INDEXER_LOCK_TTL / 2)
        except TRANSIENT_ERRORS as exc:
            logger.warning("indexer: chain unreachable (%s); next run retries", exc)
            Indexer.record_failure(exc)
            return None
        return {"head": report.head, "to_block": report.to_block, "events": report.events}


@shared_task(name="blockchain.tasks.reconcile_chain", ignore_result=True)
@single_instance("blockchain:reconcile-chain", ttl=3600)
def reconcile_chain() -> dict | None:
    """Compare the cache with the chain and store the drift report (hourly)."""
    from blockchain.reconcile import run_reconcile

    try:
        report = run_reconcile()
    except TRANSIENT_ERRORS as exc:
        logger.warning("reconcile: chain unreachable (%s)", exc)
        return None
    return {"checked": report.checked, "drift": report.drift_count}


@shared_task(name="blockchain.tasks.refresh_stale_balances", ignore_result=True)
@single_instance("blockchain:refresh-balances", ttl=600)
def refresh_stale_balances() -> int | None:
    """Read the chain for balances events or sent transactions marked stale."""
    from blockchain.balances import refresh_stale_balances as refresh

    try:
        return refresh()
    except TRANSIENT_ERRORS as exc:
        logger.warning("balance refresh: chain unreachable (%s)", exc)
        return None


@shared_task(name="blockchain.tasks.reconcile_all_balances", ignore_result=True)
@single_instance("blockchain:reconcile-balances", ttl=3600)
def reconcile_all_balances() -> dict | None:
    """Compare every cached balance with the chain, correct it, and store the drift report (on demand:
    the hourly `reconcile_chain` runs the same check among all the others)."""
    from blockchain.reconcile import run_reconcile

    try:
        report = run_reconcile(only=("balances",))
    except TRANSIENT_ERRORS as exc:
        logger.warning("balance reconcile: chain unreachable (%s)", exc)
        return None
    return {"report": report.pk, "checked": report.checked, "drift": report.drift_count}
