"""The one way this codebase talks to the chain node: an instrumented, configured Web3."""

from __future__ import annotations

import functools
import time
from typing import Any

from django.conf import settings
from web3 import Web3
from web3.middleware import ExtraDataToPOAMiddleware
from web3.providers.rpc import HTTPProvider

from blockchain.metrics import RPC_CALLS, RPC_ERRORS, RPC_LATENCY


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


def build_web3(rpc_url: str | None = None, *, timeout: float | None = None, poa: bool | None = None) -> Web3:
    """A new Web3 for `rpc_url` (default: CHAIN_RPC_URL), with web3's own retries off.

    Retrying is the outbox's job: it knows which calls are safe to repeat.
    """
    provider = InstrumentedHTTPProvider(
        rpc_url or settings.CHAIN_RPC_URL,
        request_kwargs={"timeout": timeout if timeout is not None else settings.CHAIN_RPC_TIMEOUT},
        exception_retry_configuration=None,
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


def explorer_tx_url(tx_hash: str | None) -> str | None:
    if not tx_hash or not settings.EXPLORER_TX_URL:
        return None
    return settings.EXPLORER_TX_URL.format(tx_hash=tx_hash)
