"""What the chain looked like when last seen: the head and the signers' balances.

The confirmer and the indexer write these as they pass; API reads, health and the dashboard read
them, so a request never calls the chain to learn the head. Kept in the cache (Redis), so every
process sees the same value.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.utils import timezone
from web3 import Web3

from blockchain.chain.metrics import SIGNER_BALANCE
from blockchain.chain.signer import pool_addresses
from core.cache import cached, cached_many, keep, keep_many

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
        _head_memo[0], _head_memo[1] = cached("chain head", HEAD_CACHE_KEY), now
    return _head_memo[0]


def remember_head(head: int) -> None:
    keep("chain head", HEAD_CACHE_KEY, head, timeout=None)
    _head_memo[0], _head_memo[1] = head, time.monotonic()


def _balance_key(address: str) -> str:
    return f"{SIGNER_BALANCE_CACHE_KEY}:{address.lower()}"


def remember_signer_balances(w3: Web3) -> None:
    """Every pool signer's native balance, for reads that must not call the chain (sync status,
    health) and the per-signer gauge. One JSON-RPC batch for the whole pool."""
    from blockchain.chain.client import rpc_batch

    try:
        addresses = pool_addresses()
        results = rpc_batch(w3, [("eth_getBalance", [address, "latest"]) for address in addresses])
        at = timezone.now().isoformat()
        values: dict[str, Any] = {f"{SIGNER_BALANCE_CACHE_KEY}:pool": addresses}
        for index, (address, result) in enumerate(zip(addresses, results, strict=True)):
            if not isinstance(result, str):
                continue
            wei = int(result, 16)
            entry = {"address": address, "wei": wei, "at": at}
            values[_balance_key(address)] = entry
            if index == 0:
                values[SIGNER_BALANCE_CACHE_KEY] = entry  # the primary
            SIGNER_BALANCE.labels(address).set(wei / 10**18)
        keep_many("signer balance", values, timeout=None)  # one round trip every pass
    except Exception as exc:  # informational only; the caller's real work goes on
        logger.debug("signer balances not refreshed: %s", exc)


def remember_signer_balance(w3: Web3) -> None:
    """Kept for callers of the one-signer name: refreshes the whole pool."""
    remember_signer_balances(w3)


def cached_signer_balance() -> dict | None:
    """The primary signer's last measured balance."""
    return cached("signer balance", SIGNER_BALANCE_CACHE_KEY)


def cached_signer_balances() -> list[dict]:
    """Every pool signer's last measured balance (those measured at least once), primary first."""
    addresses = cached("signer balance", f"{SIGNER_BALANCE_CACHE_KEY}:pool") or []
    found = cached_many("signer balance", [_balance_key(a) for a in addresses])
    return [found[_balance_key(a)] for a in addresses if _balance_key(a) in found]
