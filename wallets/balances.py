"""Cached balances: Redis in front of `Balance` rows in front of the chain.

A read is answered from the cache while the entry is fresh (younger than BALANCE_TTL_SECONDS and not
marked stale); otherwise the chain is read (all assets of the address in one JSON-RPC batch, at one
block) and the row and cache are updated. `verify=True` always reads the chain. Transfer events, sent
and settled outbox rows mark the balances they touch stale. `pending_delta` is what in-flight outbox
rows will change, computed on every read from the outbox (it is small and must never lag).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from prometheus_client import Counter
from web3 import Web3

from blockchain.chain.addresses import normalize_address
from blockchain.chain.bindings import NotDeployed, call_many, deployment_of
from blockchain.chain.client import RpcError, get_web3, rpc_batch
from blockchain.indexing.registry import (
    DecodedEvent,
    Drift,
    ReconcileResult,
    register_projection,
    register_rebuild_hook,
    register_reconciler,
    register_run_hook,
)
from blockchain.models import IN_FLIGHT_STATUSES, ChainTransaction, WatchedContract
from blockchain.outbox.hooks import NATIVE, balance_effects
from core.cache import best_effort
from core.redis import get_redis
from wallets.models import Balance

logger = logging.getLogger(__name__)

BALANCE_READS = Counter("balance_reads_total", "Balance reads by source", ["source"])
# OpenZeppelin's ERC-20 interface (compiled from @openzeppelin/contracts): calls and decodes any token.
TOKEN_ARTIFACT = "IERC20Metadata"  # noqa: S105 - an artifact name
CERTIFICATES = "certificates"


@dataclass(frozen=True)
class Asset:
    key: str
    symbol: str
    decimals: int
    kind: str  # native | erc20 | erc721
    address: str | None = None


@dataclass
class BalanceView:
    asset: str
    symbol: str
    amount: Decimal
    base_units: int
    pending_delta: Decimal
    block_number: int | None
    stale: bool
    source: str  # cache | chain


_certificates_address: dict[int, tuple[float, str]] = {}


def _certificates_contract() -> str | None:
    """The ShareCertificate deployment, remembered for a minute once found (the hot path must not
    query it on every read)."""
    now = time.monotonic()
    known = _certificates_address.get(settings.CHAIN_ID)
    if known is not None and now - known[0] < 60:
        return known[1]
    try:
        address = deployment_of("ShareCertificate").address
    except NotDeployed:  # no suite deployed yet: no certificates to count
        return None
    _certificates_address[settings.CHAIN_ID] = (now, address)
    return address


def forget_certificates_contract() -> None:
    """Look the ShareCertificate deployment up again on the next read (after a deployment changed
    the suite: a test's own deployment reverted with its snapshot, a redeploy)."""
    _certificates_address.clear()


def assets() -> list[Asset]:
    """The native coin, every configured ERC-20, and the share certificates (a count)."""
    found = [Asset(NATIVE, settings.CHAIN_NATIVE_SYMBOL, 18, "native")]
    for symbol, spec in settings.CHAIN_TOKENS.items():
        found.append(
            Asset(symbol, symbol, int(spec.get("decimals", 18)), "erc20", normalize_address(spec["address"]))
        )
    certificates = _certificates_contract()
    if certificates:
        found.append(Asset(CERTIFICATES, "LBSC", 0, "erc721", certificates))
    return found


# The hot cache: one Redis hash per address (field per asset: "amount:block:pending"), read in one
# round trip. Without Redis (`make run` on SQLite) Django's cache stands in.
def _cache_key(address: str, asset: str | None = None) -> str:
    base = f"balance:{settings.CHAIN_ID}:{address}"
    return base if asset is None else f"{base}:{asset}"


def _hot_get(address: str, keys: list[str]) -> dict[str, dict]:
    # Best effort (core.cache): with Redis down every key misses and the rows or the chain answer.
    return best_effort("balances", lambda: _hot_read(address, keys), fallback={})


def _hot_read(address: str, keys: list[str]) -> dict[str, dict]:
    if settings.USES_REDIS:
        values = get_redis().hmget(_cache_key(address), keys)
        found = {}
        for key, value in zip(keys, values, strict=True):
            if value is not None:
                amount, block, pending = (int(part) for part in value.split(b":"))
                found[key] = {"amount": amount, "block": block, "pending": pending}
        return found
    hits = cache.get_many([_cache_key(address, k) for k in keys])
    return {k: hits[_cache_key(address, k)] for k in keys if _cache_key(address, k) in hits}


def _hot_forget(pairs: set[tuple[str, str]]) -> None:
    # Not best effort: an entry that should be dropped must never be read later, so a failure raises.
    if settings.USES_REDIS:
        with get_redis().pipeline(transaction=False) as pipe:
            for address, asset in pairs:
                pipe.hdel(_cache_key(address), asset)
            pipe.execute()
    else:
        cache.delete_many([_cache_key(address, asset) for address, asset in pairs])


def _read_chain(address: str, wanted: list[Asset], *, w3: Web3 | None = None) -> tuple[dict[str, int], int]:
    """Every wanted asset's balance of `address` at one block: ({asset: base units}, block)."""
    w3 = w3 or get_web3()
    tokens = [a for a in wanted if a.kind != "native"]
    values, block = call_many([(TOKEN_ARTIFACT, a.address, "balanceOf", [address]) for a in tokens], w3=w3)
    found = {a.key: int(v) for a, v in zip(tokens, values, strict=True)}
    if any(a.kind == "native" for a in wanted):
        (native,) = rpc_batch(w3, [("eth_getBalance", [address, hex(block)])])
        if isinstance(native, RpcError):
            raise native
        found[NATIVE] = int(native, 16)
    return found, block


def _store(address: str, amounts: dict[str, int], block: int, pending: dict[str, int]) -> None:
    """Row and cache. The cache entry carries the pending delta too: every outbox change that moves
    it (enqueue, broadcast, receipt, failure) marks the entry stale."""
    for asset, amount in amounts.items():
        Balance.objects.update_or_create(
            chain_id=settings.CHAIN_ID,
            address=address,
            asset=asset,
            defaults={"amount": amount, "block_number": block, "stale": False},
        )
        _remember(address, asset, amount, block, pending.get(asset, 0))


def clear_hot_cache() -> None:
    """Drop every cached balance of this chain (the rows stay): after a chain reset, and in tests."""
    if settings.USES_REDIS:
        client = get_redis()
        keys = list(client.scan_iter(match=f"balance:{settings.CHAIN_ID}:*", count=1000))
        if keys:
            client.delete(*keys)
    else:
        cache.clear()


def _remember(address: str, asset: str, amount: int, block: int, pending: int) -> None:
    best_effort("balances", lambda: _hot_write(address, asset, amount, block, pending), fallback=None)


def _hot_write(address: str, asset: str, amount: int, block: int, pending: int) -> None:
    if settings.USES_REDIS:
        # The hash expires as a whole; each refresh of any asset of the address extends it, so the
        # rows' own freshness (updated_at, stale) stays the rule and this is only the fast path.
        with get_redis().pipeline(transaction=False) as pipe:
            pipe.hset(_cache_key(address), asset, f"{amount}:{block}:{pending}")
            pipe.expire(_cache_key(address), settings.BALANCE_TTL_SECONDS)
            pipe.execute()
    else:
        cache.set(
            _cache_key(address, asset),
            {"amount": amount, "block": block, "pending": pending},
            timeout=settings.BALANCE_TTL_SECONDS,
        )


def pending_deltas(address: str, wanted: list[Asset]) -> dict[str, int]:
    """What in-flight outbox rows will change, in base units: fees and value the signer pays, tokens
    minted or transferred to the address, certificates being minted for it."""
    deltas = dict.fromkeys((a.key for a in wanted), 0)
    rows = ChainTransaction.objects.filter(chain_id=settings.CHAIN_ID, status__in=IN_FLIGHT_STATUSES).filter(
        Q(signer=address) | Q(args__icontains=address[2:])
    )
    by_token = _by_token(wanted)
    for row in rows.only(
        "kind", "signer", "value", "gas_limit", "max_fee_per_gas", "contract_address", "function", "args"
    ):
        if row.signer == address and NATIVE in deltas:
            deltas[NATIVE] -= int(row.value) + (row.gas_limit or 0) * (row.max_fee_per_gas or 0)
        for effect in balance_effects(row):  # declared by the intent's app, per kind
            asset = by_token.get(_token_key(effect.token))
            if asset is not None and effect.holder == address:
                deltas[asset.key] += effect.delta
    return deltas


def _token_key(token: str) -> str:
    return token if token == NATIVE else Web3.to_checksum_address(token)


def _by_token(wanted: list[Asset]) -> dict[str, Asset]:
    """Token (contract address, or NATIVE) -> the asset it counts as."""
    return {(a.address or NATIVE): a for a in wanted}


def get_balances(address: str, *, verify: bool = False, only: list[str] | None = None) -> list[BalanceView]:
    """Every asset's balance of `address` (or `only` these assets): cached, or from the chain when
    the cache is stale, old or `verify` is asked for."""
    address = normalize_address(address, allow_zero=True)
    wanted = [a for a in assets() if only is None or a.key in only]
    entries: dict[str, dict] = {}
    sources: dict[str, str] = {}
    if not verify:
        entries = _hot_get(address, [a.key for a in wanted])
    missing = [a for a in wanted if a.key not in entries]
    if missing:
        deltas = pending_deltas(address, wanted)
        rows = {}
        if not verify:
            fresh_after = timezone.now() - timedelta(seconds=settings.BALANCE_TTL_SECONDS)
            rows = {
                row.asset: row
                for row in Balance.objects.filter(
                    chain_id=settings.CHAIN_ID,
                    address=address,
                    asset__in=[a.key for a in missing],
                    stale=False,
                    updated_at__gte=fresh_after,
                )
            }
        for key, row in rows.items():
            entries[key] = {"amount": int(row.amount), "block": row.block_number, "pending": deltas[key]}
            _remember(address, key, int(row.amount), row.block_number, deltas[key])
        to_read = [a for a in missing if a.key not in rows]
        if to_read:
            amounts, block = _read_chain(address, to_read)
            _store(address, amounts, block, deltas)
            for key, amount in amounts.items():
                entries[key] = {"amount": amount, "block": block, "pending": deltas[key]}
                sources[key] = "chain"
    views = []
    for asset in wanted:
        entry, source = entries[asset.key], sources.get(asset.key, "cache")
        BALANCE_READS.labels(source).inc()
        scale = Decimal(10) ** -asset.decimals
        views.append(
            BalanceView(
                asset=asset.key,
                symbol=asset.symbol,
                amount=Decimal(entry["amount"]) * scale,
                base_units=entry["amount"],
                pending_delta=Decimal(entry["pending"]) * scale,
                block_number=entry["block"],
                stale=False,
                source=source,
            )
        )
    return views


def get_balance(address: str, asset: str, *, verify_critical: bool = False) -> BalanceView:
    """One asset's balance; `verify_critical=True` reads the chain whatever the cache holds."""
    views = get_balances(address, verify=verify_critical, only=[asset])
    if not views:
        raise KeyError(f"unknown asset {asset!r}")
    return views[0]


def mark_stale(pairs: set[tuple[str, str]]) -> None:
    """(address, asset) balances something just changed: the next read goes to the chain."""
    if not pairs:
        return
    _hot_forget(pairs)
    by_asset: dict[str, set[str]] = {}
    for address, asset in pairs:
        by_asset.setdefault(asset, set()).add(address)
    # One UPDATE per asset, however many addresses; assets in one order in every process, so two
    # transactions marking overlapping balances lock them in the same order.
    for asset in sorted(by_asset):
        Balance.objects.filter(chain_id=settings.CHAIN_ID, asset=asset, address__in=by_asset[asset]).update(
            stale=True
        )


def touched_by(row: ChainTransaction, by_token: dict[str, Asset]) -> set[tuple[str, str]]:
    """The balances an outbox row changes: the signer's native coin (fees, value) and what the
    intent declares (the `balance_effects` of its `ChainIntent`)."""
    pairs = {(row.signer, NATIVE)} if row.signer else set()
    for effect in balance_effects(row):
        asset = by_token.get(_token_key(effect.token))
        if asset is not None:
            pairs.add((effect.holder, asset.key))
    return pairs


def mark_rows_stale(rows: list[ChainTransaction]) -> None:
    """The outbox's row listener (enqueued, broadcast, landed, failed): never raises."""
    if not rows:
        return
    try:
        by_token = _by_token(assets())
        pairs: set[tuple[str, str]] = set()
        for row in rows:
            pairs |= touched_by(row, by_token)
        mark_stale(pairs)
    except Exception:  # balances are a cache; the outbox's work must go on
        logger.exception("could not mark balances stale for %d outbox rows", len(rows))


def transfer_touches(event: DecodedEvent) -> list[tuple[str, str]]:
    """The (holder, token contract) balances a Transfer moves: both sides except the zero address."""
    return [(event.args[side], event.address) for side in ("from", "to") if int(event.args[side], 16) != 0]


def balances_touched(pairs: set[tuple[str, str]]) -> None:
    """The balance projection: a Transfer that arrived or was orphaned by a reorg changes what the
    holder has, so the cached value is stale until the chain is read again."""
    by_token = _by_token([a for a in assets() if a.kind != "native"])
    mark_stale({(holder, by_token[token].key) for holder, token in pairs if token in by_token})


register_projection(
    "wallets.balance",
    kinds=[("ShareCertificate", "Transfer"), (TOKEN_ARTIFACT, "Transfer")],
    keys=transfer_touches,
    project=balances_touched,
)


def reset_balances() -> None:
    """Before `rebuild_from_chain`: every cached balance goes (rows and the Redis hot cache); reads
    refill them from the chain."""
    Balance.objects.filter(chain_id=settings.CHAIN_ID).delete()
    transaction.on_commit(clear_hot_cache)


register_rebuild_hook("wallets", reset_balances)


def watch_configured_tokens(*, w3: Web3 | None = None) -> int:
    """The indexer follows the configured ERC-20 tokens' Transfer events from now on (an indexer run
    hook: called at the start of every run)."""
    if not settings.CHAIN_TOKENS:
        return 0
    added = 0
    for asset in assets():
        if asset.kind != "erc20":
            continue
        if not WatchedContract.objects.filter(
            chain_id=settings.CHAIN_ID, address=asset.address, active=True
        ).exists():
            head = (w3 or get_web3()).eth.block_number
            WatchedContract.objects.create(
                chain_id=settings.CHAIN_ID, address=asset.address, artifact=TOKEN_ARTIFACT, start_block=head
            )
            added += 1
    return added


def refresh_stale_balances(*, limit: int = 1000) -> int:
    """Beat: read the chain for balances marked stale (a page at a time). Returns rows refreshed."""
    rows = list(
        Balance.objects.filter(chain_id=settings.CHAIN_ID, stale=True)
        .order_by("updated_at")[:limit]
        .values_list("address", "asset")
    )
    by_address: dict[str, list[str]] = {}
    for address, asset in rows:
        by_address.setdefault(address, []).append(asset)
    known = {a.key: a for a in assets()}
    for address, keys in by_address.items():
        wanted = [known[k] for k in keys if k in known]
        if wanted:
            amounts, block = _read_chain(address, wanted)
            _store(address, amounts, block, pending_deltas(address, wanted))
    return len(rows)


def reconcile_balances(w3: Web3) -> ReconcileResult:
    """Every cached balance that is not marked stale against the chain; drift is corrected too."""
    result = ReconcileResult()
    known = {a.key: a for a in assets()}
    by_address: dict[str, dict[str, int]] = {}
    for address, asset, amount in Balance.objects.filter(chain_id=settings.CHAIN_ID, stale=False).values_list(
        "address", "asset", "amount"
    ):
        if asset in known:
            by_address.setdefault(address, {})[asset] = int(amount)
    for address, cached in by_address.items():
        amounts, block = _read_chain(address, [known[k] for k in cached], w3=w3)
        for asset, amount in cached.items():
            result.checked += 1
            if amounts[asset] != amount:
                result.drift.append(
                    Drift("balances", f"{address}:{asset}", cache=str(amount), chain=str(amounts[asset]))
                )
        _store(address, amounts, block, pending_deltas(address, [known[k] for k in cached]))
    return result


register_reconciler("balances", reconcile_balances)
register_run_hook("wallets.configured_tokens", lambda w3: watch_configured_tokens(w3=w3))
