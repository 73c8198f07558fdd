"""Prometheus series of the node kit: JSON-RPC calls and the signer's balance."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

RPC_CALLS = Counter("chain_rpc_calls_total", "JSON-RPC calls made to the chain node", ["method"])
RPC_ERRORS = Counter("chain_rpc_errors_total", "JSON-RPC calls that raised or returned an error", ["method"])
RPC_LATENCY = Histogram(
    "chain_rpc_latency_seconds",
    "JSON-RPC call latency",
    ["method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

SIGNER_BALANCE = Gauge(
    "chain_signer_balance",
    "The signer's native balance (coin units), as last read",
    multiprocess_mode="mostrecent",
)
