"""What the chain looked like when last seen: the head and the signer's balance.

The confirmer and the indexer write these as they pass; API reads, health and the dashboard read
them, so a request never calls the chain to learn the head. Kept in the cache (Redis), so every
process sees the same value.
"""

from __future__ import annotations

import logging
import time

from django.core.cache import cache
from django.utils import timezone
from web3 import Web3

from blockchain.chain.metrics import SIGNER_BALANCE
from blockchain.chain.signer import get_signer

logger = logging.getLogger(__name__)

HEAD_CACHE_KEY = "chain:head"
SIGNER_BALANCE_CACHE_KEY = "chain:signer-balance"

_head_memo: list = [None, 0.0]  # [head, monotonic time read]


def cached_head() -> int | None:
    """The last chain head the confirmer or indexer saw (API reads use it; they never call the chain).

    Held in this process for a second: a list of 50 rows computes 50 confirmation counts, and a
    block is seconds apart anyway."""
    now = time.monotonic()
    if _head_memo[0] is None or now - _head_memo[1] > 1.0:
        _head_memo[0], _head_memo[1] = cache.get(HEAD_CACHE_KEY), now
    return _head_memo[0]


def remember_head(head: int) -> None:
    cache.set(HEAD_CACHE_KEY, head, timeout=None)
    _head_memo[0], _head_memo[1] = head, time.monotonic()


def remember_signer_balance(w3: Web3) -> None:
    """The signer's native balance, for reads that must not call the chain (sync status, health)."""
    try:
        address = get_signer().address
        wei = int(w3.eth.get_balance(address))
        cache.set(
            SIGNER_BALANCE_CACHE_KEY,
            {"address": address, "wei": wei, "at": timezone.now().isoformat()},
            timeout=None,
        )
        SIGNER_BALANCE.set(wei / 10**18)
    except Exception as exc:  # informational only; the caller's real work goes on
        logger.debug("signer balance not refreshed: %s", exc)


def cached_signer_balance() -> dict | None:
    return cache.get(SIGNER_BALANCE_CACHE_KEY)
