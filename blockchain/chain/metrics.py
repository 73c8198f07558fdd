"""Prometheus series of the node kit: JSON-RPC calls, RPC endpoints' health and the signers' balances."""

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
    "Each pool signer's native balance (coin units), as last read; `signer` is its address",
    ["signer"],
    multiprocess_mode="mostrecent",
)

# Per RPC endpoint (blockchain.chain.failover). `endpoint` is the redacted name: scheme://host:port,
# never the user info, path or query of the URL (a hosted provider's API key lives there).
RPC_ENDPOINT_HEALTHY = Gauge(
    "chain_rpc_endpoint_healthy",
    "1 while the RPC endpoint is in service, 0 while it cools down after failures (per process)",
    ["endpoint"],
    multiprocess_mode="mostrecent",
)
RPC_ENDPOINT_REQUESTS = Counter(
    "chain_rpc_endpoint_requests_total",
    "Requests (and recovery probes) sent to an RPC endpoint, by outcome: ok, connection, "
    "connect_timeout, timeout, http_429, http_5xx, bad_response, rate_limited, wrong_chain",
    ["endpoint", "outcome"],
)
RPC_FAILOVERS = Counter(
    "chain_rpc_failovers_total",
    "Requests that failed on one RPC endpoint and were served by another",
    ["from_endpoint", "to_endpoint", "reason"],
)
RPC_ENDPOINT_LATENCY = Histogram(
    "chain_rpc_endpoint_latency_seconds",
    "Latency of the requests an RPC endpoint answered",
    ["endpoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
