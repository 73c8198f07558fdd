"""Celery tasks of the write path: sender (kicked on commit), confirmer, sweep and nonce reconcile (beat)."""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import timedelta

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.utils import timezone

from blockchain.chain.client import TRANSIENT_ERRORS
from core.locks import single_instance

logger = logging.getLogger(__name__)


def kick_sender() -> None:
    """Ask a worker to drain the outbox. Never raises: a lost kick is covered by the beat sweep."""
    try:
        send_outbox.apply_async(retry=False)
    except Exception as exc:
        logger.warning("could not queue the outbox sender (the sweep will): %s", exc)


@shared_task(
    name="blockchain.outbox.tasks.send_outbox",
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=None,
    acks_late=True,
    ignore_result=True,
)
def send_outbox() -> dict:
    """Drain queued outbox rows: simulate, sign at allocated nonces, broadcast, and apply the
    receipts that exist right after each batch's broadcast (the confirmer's pass does the rest)."""
    from blockchain.outbox.confirmer import confirm_landed
    from blockchain.outbox.sender import send_queued

    report = send_queued(on_backlog=kick_sender, on_broadcast=confirm_landed)
    return asdict(report)


@shared_task(
    name="blockchain.outbox.tasks.send_rebroadcast",
    ignore_result=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=2,
    max_retries=10,
)
def send_rebroadcast(transaction_id: int) -> None:
    """Broadcast one row's stored bytes again (operator action)."""
    from blockchain.models import ChainTransaction, TxStatus
    from blockchain.outbox.sender import broadcast

    tx = ChainTransaction.objects.filter(
        pk=transaction_id, status__in=[TxStatus.SIGNED, TxStatus.SENT]
    ).first()
    if tx is not None:
        broadcast([tx])


@shared_task(name="blockchain.outbox.tasks.confirm_outbox", ignore_result=True)
@single_instance("blockchain:confirm-outbox", ttl=120)
def confirm_outbox() -> dict | None:
    """Receipts for every in-flight hash: mined, confirmed, failed, reorged, stuck."""
    from blockchain.outbox.confirmer import confirm_pending

    try:
        return asdict(confirm_pending())
    except TRANSIENT_ERRORS as exc:
        logger.warning("confirmer: chain unreachable (%s); next pass retries", exc)
        return None


@shared_task(name="blockchain.outbox.tasks.sweep_outbox", ignore_result=True)
@single_instance("blockchain:sweep-outbox", ttl=120)
def sweep_outbox() -> dict:
    """Catch what a lost message or a crash left behind.

    - queued rows (their on-commit kick never reached the broker): kick the sender;
    - signed rows older than OUTBOX_REBROADCAST_SECONDS (a crash between commit and broadcast, or
      the node was down): broadcast their stored bytes again.
    """
    from blockchain.models import ChainTransaction, TxStatus
    from blockchain.outbox.sender import broadcast

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


@shared_task(name="blockchain.outbox.tasks.reconcile_nonces", ignore_result=True)
@single_instance("blockchain:reconcile-nonces", ttl=120)
def reconcile_nonces() -> dict | None:
    """Reconcile every pool signer's allocator with the chain and fill any nonce gap, per signer."""
    from blockchain.chain.client import get_web3
    from blockchain.chain.signer import pool_addresses
    from blockchain.outbox.nonces import reconcile_nonce_account
    from blockchain.outbox.sender import fill_nonce_gaps

    results = {}
    try:
        w3 = get_web3()
        for address in pool_addresses():
            result = reconcile_nonce_account(w3=w3, chain_id=settings.CHAIN_ID, address=address)
            if result.gaps:
                fill_nonce_gaps(result.gaps, w3=w3, address=address)
            results[address] = asdict(result)
    except TRANSIENT_ERRORS as exc:
        logger.warning("nonce reconcile: chain unreachable (%s)", exc)
        return None
    return results


@worker_ready.connect
def _reconcile_on_worker_start(sender=None, **_kwargs) -> None:
    # DESIGN rule 3: on start-up the allocator is reconciled with the chain.
    try:
        reconcile_nonces.apply_async(retry=False)
    except Exception as exc:
        logger.warning("could not queue the start-up nonce reconcile: %s", exc)
