"""GET /healthz: is every part this process depends on reachable and configured as expected?

A load balancer gets the status code and `{"status"}`; the checks' details (errors, heads, lag, the
signer's balance) are for an operator or a caller presenting HEALTH_TOKEN (core.ops_access), and
even then exception text is redacted (the node URL's path can carry a provider's API key)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.log_format import describe_error
from core.ops_access import sees_health_details

logger = logging.getLogger(__name__)

CheckResult = dict[str, Any]


def check_database() -> CheckResult:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"ok": True, "vendor": connection.vendor}


def check_broker() -> CheckResult:
    from celery import current_app as app  # config.celery's app, set as the default at start-up

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
    return {"ok": True, "transport": app.conf.broker_url.split(":", 1)[0]}


def check_chain() -> CheckResult:
    from blockchain.chain.client import build_web3

    w3 = build_web3(timeout=3)
    chain_id = w3.eth.chain_id
    head = w3.eth.block_number
    if chain_id != settings.CHAIN_ID:
        return {"ok": False, "error": f"node reports chain id {chain_id}, configured {settings.CHAIN_ID}"}
    return {"ok": True, "chain_id": chain_id, "head": head}


def check_indexer() -> CheckResult:
    from blockchain.models import ChainSyncState, WatchedContract

    state = ChainSyncState.objects.filter(chain_id=settings.CHAIN_ID).first()
    if state is None or state.indexed_block is None:
        if not WatchedContract.objects.filter(chain_id=settings.CHAIN_ID, active=True).exists():
            return {"ok": True, "note": "no contracts deployed yet"}
        return {"ok": False, "error": "the indexer has not run yet"}
    if state.last_error:
        # Details (the exception) are in the sync status for operators, not in this public answer.
        return {"ok": False, "indexed_block": state.indexed_block, "error": "the indexer's last run failed"}
    from blockchain.state import cached_head

    head = cached_head()
    if head is not None and state.indexed_block > head:
        return {
            "ok": False,
            "indexed_block": state.indexed_block,
            "head": head,
            "error": (
                "the indexed block is ahead of the chain head: the chain was reset; "
                "run `python manage.py rebuild_from_chain`"
            ),
        }
    lag = state.lag_blocks
    result = {
        "ok": lag <= settings.HEALTH_MAX_INDEXER_LAG,
        "indexed_block": state.indexed_block,
        "lag_blocks": lag,
    }
    if not result["ok"]:
        result["error"] = f"indexer is {lag} blocks behind (limit {settings.HEALTH_MAX_INDEXER_LAG})"
    return result


def check_signer_balance() -> CheckResult:
    """A warning, never a failure: a low signer balance still serves reads, but writes will stop
    (on that signer's lane). Every pool signer is checked; the primary's fields stay at the top."""
    from blockchain.selectors import signer_balance_summary, signer_pool_balances

    signer = signer_balance_summary()
    if signer["balance"] is None:
        return {"ok": True, "note": "not measured yet"}
    result: CheckResult = {"ok": True, "address": signer["address"], "balance": signer["balance"]}
    pool = signer_pool_balances()
    low = [s for s in pool if s["low"]] or ([signer] if signer["low"] else [])
    if len(pool) > 1:
        result["signers"] = {s["address"]: s["balance"] for s in pool}
    if low:
        result["warning"] = "; ".join(
            f"signer {s['address']} balance {s['balance']} is below SIGNER_MIN_BALANCE {signer['minimum']}"
            if len(pool) > 1
            else f"signer balance {s['balance']} is below SIGNER_MIN_BALANCE {signer['minimum']}"
            for s in low
        )
    return result


HEALTH_CHECKS: dict[str, Callable[[], CheckResult]] = {
    "database": check_database,
    "broker": check_broker,
    "chain": check_chain,
    "indexer": check_indexer,
    "signer_balance": check_signer_balance,
}


def run_health_checks() -> tuple[bool, dict[str, CheckResult]]:
    results: dict[str, CheckResult] = {}
    for name, check in HEALTH_CHECKS.items():
        started = time.perf_counter()
        try:
            result = check()
        except Exception as exc:  # a health check reports failures, it never raises them
            logger.warning("health check %s failed: %s: %s", name, type(exc).__name__, exc)
            result = {"ok": False, "error": describe_error(exc)[:300]}
        result["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
        results[name] = result
    return all(r["ok"] for r in results.values()), results


@never_cache
@require_GET
def healthz(request) -> JsonResponse:
    healthy, checks = run_health_checks()
    status = 200 if healthy else 503
    if not sees_health_details(request):
        return _answered(JsonResponse({"status": "ok" if healthy else "unavailable"}, status=status))
    body = {"status": "ok" if healthy else "unavailable", "checks": checks}
    warnings = [f"{name}: {r['warning']}" for name, r in checks.items() if r.get("warning")]
    if warnings:
        body["warnings"] = warnings
    if not healthy:
        body["reasons"] = [f"{name}: {r.get('error', 'failed')}" for name, r in checks.items() if not r["ok"]]
    return _answered(JsonResponse(body, status=status))


def _answered(response: JsonResponse) -> JsonResponse:
    # A 503 here is an answer, not a server error: each failing check is already logged as a warning
    # above, so Django's request logger must not add an ERROR line per probe (a load balancer polls
    # every few seconds).
    response._has_been_logged = True
    return response
