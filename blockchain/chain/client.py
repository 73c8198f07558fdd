"""The one way this codebase talks to the chain node: an instrumented, configured Web3.

Its provider fails over between the ordered endpoints of CHAIN_RPC_URLS (blockchain.chain.failover):
callers keep using get_web3/build_web3 and never see which node answered.
"""

from __future__ import annotations

import functools
import time
from typing import Any

import requests
from django.conf import settings
from pydantic_core import from_json
from web3 import Web3
from web3.middleware import ExtraDataToPOAMiddleware
from web3.providers.rpc import HTTPProvider

from blockchain.chain.failover import FailoverProvider, HealthPolicy, UnreadableResponse
from blockchain.chain.metrics import RPC_CALLS, RPC_ERRORS, RPC_LATENCY

# Node unreachable or timing out: callers retry with backoff; nothing they hold is lost. With several
# endpoints, "none could serve it" is failover.EndpointsUnavailable, a requests.ConnectionError.
TRANSIENT_ERRORS = (requests.ConnectionError, requests.Timeout, ConnectionError, TimeoutError)


# Responses this large (eth_getLogs over a range, receipt batches) are parsed by pydantic-core's JSON
# parser (Rust): the same Python values as json.loads, 2-3x faster on 10 MB of logs, straight from
# the bytes. Small answers keep web3's own decoding.
LARGE_RESPONSE_BYTES = 256 * 1024


class InstrumentedHTTPProvider(HTTPProvider):
    """HTTPProvider that counts every JSON-RPC call by method (metrics + bench "RPC calls made")."""

    def make_request(self, method: Any, params: Any) -> Any:
        name = str(method)
        RPC_CALLS.labels(name).inc()
        started = time.perf_counter()
        try:
            response = super().make_request(method, params)
        except Exception:
            RPC_ERRORS.labels(name).inc()
            raise
        finally:
            RPC_LATENCY.labels(name).observe(time.perf_counter() - started)
        if isinstance(response, dict) and response.get("error"):
            RPC_ERRORS.labels(name).inc()
        return response

    def make_batch_request(self, batch_requests: list[tuple[Any, Any]]) -> Any:
        for method, _params in batch_requests:
            RPC_CALLS.labels(str(method)).inc()
        started = time.perf_counter()
        try:
            response = super().make_batch_request(batch_requests)
        except Exception:
            for method, _params in batch_requests:
                RPC_ERRORS.labels(str(method)).inc()
            raise
        RPC_LATENCY.labels("batch").observe(time.perf_counter() - started)
        return response

    def decode_rpc_response(self, raw_response: bytes) -> Any:
        # Not JSON (a proxy's error page, a cut body): the endpoint failed, the next one may answer.
        try:
            if len(raw_response) >= LARGE_RESPONSE_BYTES:
                return from_json(raw_response)
            return super().decode_rpc_response(raw_response)
        except ValueError as exc:
            raise UnreadableResponse(f"not a JSON-RPC answer ({len(raw_response)} bytes)") from exc


def configured_rpc_urls() -> list[str]:
    """The ordered endpoints: CHAIN_RPC_URLS, unless CHAIN_RPC_URL was set on its own (an override in
    a test or a command names one node), in which case that node only."""
    primary = settings.CHAIN_RPC_URL
    urls = list(getattr(settings, "CHAIN_RPC_URLS", None) or [])
    if not urls or urls[0] != primary:
        return [primary]
    return urls


def health_policy() -> HealthPolicy:
    return HealthPolicy(
        failure_threshold=max(1, int(getattr(settings, "CHAIN_RPC_FAILURE_THRESHOLD", 1))),
        base_cooldown=float(getattr(settings, "CHAIN_RPC_COOLDOWN_SECONDS", 2.0)),
        max_cooldown=float(getattr(settings, "CHAIN_RPC_MAX_COOLDOWN_SECONDS", 60.0)),
    )


def _http_provider(url: str, timeout: float) -> InstrumentedHTTPProvider:
    # web3's own retries off: retrying on the same node is the callers' job (they know which calls
    # are safe to repeat), moving to another node the failover provider's.
    return InstrumentedHTTPProvider(
        url, request_kwargs={"timeout": timeout}, exception_retry_configuration=None
    )


def build_web3(rpc_url: str | None = None, *, timeout: float | None = None, poa: bool | None = None) -> Web3:
    """A new Web3 for `rpc_url`, or for the configured endpoints (with failover between them).

    Every endpoint must report CHAIN_ID: the first request refuses otherwise (ChainIdMismatch).
    """
    timeout = timeout if timeout is not None else settings.CHAIN_RPC_TIMEOUT
    provider = FailoverProvider(
        [rpc_url] if rpc_url else configured_rpc_urls(),
        chain_id=settings.CHAIN_ID,
        transport=_http_provider,
        timeout=timeout,
        probe_timeout=float(getattr(settings, "CHAIN_RPC_PROBE_TIMEOUT", 2.0)),
        policy=health_policy(),
    )
    w3 = Web3(provider)
    if settings.CHAIN_POA if poa is None else poa:
        # Polygon Edge / PoS put 97-byte extraData in headers; web3 rejects it without this.
        w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    return w3


@functools.cache
def get_web3() -> Web3:
    """The process-wide Web3 for the configured chain (one HTTP session, connection reuse)."""
    return build_web3()


class RpcError(Exception):
    """A JSON-RPC error object returned by the node (the call reached it and was refused)."""

    def __init__(self, method: str, error: dict) -> None:
        self.method = method
        self.code = error.get("code")
        self.message = str(error.get("message", ""))
        self.data = error.get("data")
        super().__init__(f"{method}: {self.message}")


RpcResult = Any  # a decoded JSON result, or an RpcError for a call the node refused


def rpc_batch(w3: Web3, calls: list[tuple[str, list]], *, chunk: int = 500) -> list[RpcResult]:
    """Send raw JSON-RPC calls in batches; results come back in call order.

    Raw JSON (no web3 result formatting) keeps receipts, estimates and logs cheap to process in
    bulk. A refused call yields an RpcError in its slot; a transport failure raises.
    """
    results: list[RpcResult] = []
    for start in range(0, len(calls), chunk):
        part = calls[start : start + chunk]
        response = w3.provider.make_batch_request([(method, params) for method, params in part])
        if isinstance(response, dict):  # the whole batch was refused
            raise RpcError("batch", response.get("error") or {"message": str(response)})
        if len(response) != len(part):
            raise RpcError("batch", {"message": f"{len(part)} calls, {len(response)} responses"})
        # Request ids increase in call order (the provider's counter); answers may come in any order.
        ordered = sorted(response, key=lambda item: int(item.get("id") or 0))
        for (method, _params), item in zip(part, ordered, strict=True):
            results.append(RpcError(method, item["error"]) if item.get("error") else item.get("result"))
    return results


def rpc_call(w3: Web3, method: str, params: list) -> Any:
    """One raw JSON-RPC call; raises RpcError when the node refuses it."""
    response = w3.provider.make_request(method, params)
    if response.get("error"):
        raise RpcError(method, response["error"])
    return response.get("result")


def explorer_tx_url(tx_hash: str | None) -> str | None:
    if not tx_hash or not settings.EXPLORER_TX_URL:
        return None
    return settings.EXPLORER_TX_URL.format(tx_hash=tx_hash)


def explorer_address_url(address: str | None) -> str | None:
    if not address or not settings.EXPLORER_ADDRESS_URL:
        return None
    return settings.EXPLORER_ADDRESS_URL.format(address=address)
