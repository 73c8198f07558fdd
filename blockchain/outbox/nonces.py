"""The nonce allocator: one `NonceAccount` row per signer, locked FOR UPDATE while signing.

Nonces never come from concurrent `eth_getTransactionCount(pending)` reads (two workers would get
the same one). The chain is consulted only to reconcile: at start-up and after "nonce too low".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from web3 import Web3

from blockchain.models import NONCE_HOLDING_STATUSES, ChainTransaction, NonceAccount

logger = logging.getLogger(__name__)


def ensure_nonce_account(*, w3: Web3, chain_id: int, address: str) -> NonceAccount:
    """The signer's allocator row; created from the chain's pending count the first time."""
    account = NonceAccount.objects.filter(chain_id=chain_id, address=address).first()
    if account is not None:
        return account
    pending = w3.eth.get_transaction_count(address, "pending")
    try:
        with transaction.atomic():
            return NonceAccount.objects.create(
                chain_id=chain_id, address=address, next_nonce=pending, reconciled_at=timezone.now()
            )
    except IntegrityError:  # another worker created it first
        return NonceAccount.objects.get(chain_id=chain_id, address=address)


def lock_nonce_account(*, w3: Web3, chain_id: int, address: str) -> NonceAccount:
    """Lock the allocator row for the current DB transaction (callers sign while holding it)."""
    ensure_nonce_account(w3=w3, chain_id=chain_id, address=address)
    return NonceAccount.objects.select_for_update().get(chain_id=chain_id, address=address)


@dataclass(frozen=True)
class NonceReconciliation:
    chain_latest: int
    chain_pending: int
    next_nonce_before: int
    next_nonce_after: int
    gaps: list[int]


def reconcile_nonce_account(*, w3: Web3, chain_id: int, address: str) -> NonceReconciliation:
    """Bring the allocator in line with the chain.

    - The chain is ahead (the key was used elsewhere, or the DB was restored): fast-forward.
    - The DB is ahead: nonces between the chain's count and ours must each belong to a stored
      signed transaction (the confirmer re-broadcasts those); any that does not is a gap that would
      block every later transaction, and is returned so the caller can fill it.
    """
    latest = w3.eth.get_transaction_count(address, "latest")
    pending = w3.eth.get_transaction_count(address, "pending")
    with transaction.atomic():
        account = lock_nonce_account(w3=w3, chain_id=chain_id, address=address)
        before = account.next_nonce
        account.next_nonce = max(account.next_nonce, pending)
        account.reconciled_at = timezone.now()
        account.save(update_fields=["next_nonce", "reconciled_at", "updated_at"])
        held = set(
            ChainTransaction.objects.filter(
                chain_id=chain_id,
                signer=address,
                nonce__gte=latest,
                nonce__lt=account.next_nonce,
                status__in=NONCE_HOLDING_STATUSES,
            ).values_list("nonce", flat=True)
        )
        gaps = [n for n in range(latest, account.next_nonce) if n not in held]
    if before != account.next_nonce or gaps:
        logger.warning(
            "nonce reconcile for %s: chain latest=%s pending=%s, next %s -> %s, gaps %s",
            address,
            latest,
            pending,
            before,
            account.next_nonce,
            gaps,
        )
    return NonceReconciliation(latest, pending, before, account.next_nonce, gaps)
