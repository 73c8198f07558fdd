"""Prometheus series for the chain side. Defined once, imported wherever they are updated."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

RPC_CALLS = Counter("chain_rpc_calls_total", "JSON-RPC calls made to the chain node", ["method"])
RPC_ERRORS = Counter("chain_rpc_errors_total", "JSON-RPC calls that raised or returned an error", ["method"])
RPC_LATENCY = Histogram(
    "chain_rpc_latency_seconds",
    "JSON-RPC call latency",
    ["method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

OUTBOX_TRANSITIONS = Counter("outbox_transitions_total", "Outbox rows entering a status", ["status"])
OUTBOX_FAILURES = Counter("outbox_failures_total", "Outbox rows failed, by decoded error", ["error"])
OUTBOX_REPLACEMENTS = Counter("outbox_replacements_total", "Stuck transactions replaced with bumped fees")
OUTBOX_REORGED = Counter("outbox_reorged_total", "Mined transactions whose receipt disappeared (reorg)")
GAS_USED = Counter("chain_gas_used_total", "Gas used by our mined transactions", ["contract", "function"])
FEES_PAID_WEI = Counter("chain_fees_paid_wei_total", "Fees paid by our mined transactions, in wei")
CONFIRMATION_LATENCY = Histogram(
    "outbox_confirmation_latency_seconds",
    "From enqueue to confirmation",
    buckets=(0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600),
)
