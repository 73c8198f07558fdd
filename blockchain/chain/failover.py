"""RPC failover: one web3 provider in front of the ordered endpoints of CHAIN_RPC_URLS.

Every request goes to the most preferred endpoint in service. It moves to the next one only when
the endpoint failed as a transport, never when a node answered:

- the request did not reach a node (connection refused, DNS, connect timeout), or the node said
  429 (rate limited: it did not run the call). Safe to send to another node whatever the method.
- it may have reached a node (read timeout, a dropped connection, a 5xx, an unreadable body).
  Safe to repeat elsewhere for reads, and for `eth_sendRawTransaction`: the same signed bytes have
  the same hash and nonce, so a second node either imports that one transaction or answers
  "already known" / "nonce too low" — the sender treats both as sent and the confirmer finds the
  receipt. Never a second transaction. Methods that change a node's state in other ways (the node
  signs with `eth_sendTransaction`, `anvil_*`/`evm_*`/`hardhat_*` controls, ...) are not repeated
  elsewhere: their failure is raised to the caller.

A JSON-RPC error object (a revert, "nonce too low", "range too large") is the node's answer and is
returned as is: another node would answer the same, and the callers already decide what to do. The
one exception is an error object that says "rate limit" / "too many requests" (hosted providers
answer 200 with those): it counts as a 429; when every endpoint says so, the last answer is returned.

Health: each endpoint counts consecutive failures. At `failure_threshold` it leaves service for a
cooldown that doubles with every further failure (`base_cooldown` .. `max_cooldown`). Once the
cooldown is over, the next request first probes it (`eth_chainId`, short timeout): an answer puts
it back in service, and since endpoints are tried in configured order, traffic returns to the
primary as soon as it recovers. When those in service fail (or none is), the one out of service due
soonest is tried as a last resort (a single-endpoint setup behaves as before: every request reaches
the node).

Chain id: the first request of a provider asks every endpoint not yet checked in this process for
its chain id; one that reports another than CHAIN_ID refuses the provider (`ChainIdMismatch`, an
ImproperlyConfigured naming the endpoint by its redacted name). An endpoint unreachable then is
checked by its first probe, before it serves anything.

A backup may lag the primary by a block or two. A receipt it has not seen yet is "not mined yet"
(or "gone", which sends the row back to `sent` and re-broadcasts the same bytes: harmless) to the
confirmer; the indexer does not pass the backup's head, and a block hash that differs is handled
as a reorg: events are derived again from what survives (DESIGN.md, "Derive, don't undo").

Health is process-wide per URL (`SHARED_HEALTH`), so every Web3 built for the same endpoints (the
cached one, the health check's, the admin's) agrees. Nothing here names a URL: metrics, logs,
errors and status use `endpoint_name` (scheme, host and port: no user info, path or query, where
hosted providers put the API key), and the secret parts of every URL are registered for redaction.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import requests
from django.core.exceptions import ImproperlyConfigured
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from web3.providers.base import JSONBaseProvider

from blockchain.chain.metrics import (
    RPC_ENDPOINT_HEALTHY,
    RPC_ENDPOINT_LATENCY,
    RPC_ENDPOINT_REQUESTS,
    RPC_FAILOVERS,
)
from core.log_format import describe_error, register_secret, url_secrets

logger = logging.getLogger(__name__)

Clock = Callable[[], float]
Transport = Callable[[str, float], Any]  # (url, timeout) -> a JSON-RPC provider for that URL

# Methods that change a node's state otherwise than by a signed transaction: never repeated on
# another endpoint once the first may have received them.
NOT_REPLAYABLE_METHODS = frozenset({"eth_sendTransaction", "eth_signTransaction", "personal_sendTransaction"})
NOT_REPLAYABLE_PREFIXES = ("anvil_", "evm_", "hardhat_", "miner_", "admin_", "debug_", "personal_")
RATE_LIMIT_PHRASES = ("rate limit", "too many requests")


class ChainIdMismatch(ImproperlyConfigured):
    """An endpoint serves another chain than CHAIN_ID: the platform must not use these endpoints."""


class UnreadableResponse(ValueError):
    """The endpoint answered something that is not JSON-RPC (a proxy's error page, a cut body)."""


class RateLimitedAnswer(Exception):
    """A JSON-RPC error object that says the endpoint is rate limiting (it did not run the call)."""


class EndpointsUnavailable(requests.ConnectionError):
    """No endpoint could serve the request. A ConnectionError, so callers retry it as transient."""


def endpoint_name(url: str) -> str:
    """What logs, metrics and status call an endpoint: scheme://host:port, never user info, path or
    query (a hosted provider's API key lives in one of those)."""
    if "://" not in url:
        return "[invalid endpoint]"
    parsed = urlparse(url)
    try:
        port = parsed.port
    except ValueError:
        port = None
    port = port or {"http": 80, "https": 443, "ws": 80, "wss": 443}.get(parsed.scheme)
    host = parsed.hostname or "?"
    if ":" in host:
        host = f"[{host}]"  # IPv6
    return f"{parsed.scheme}://{host}:{port}" if port else f"{parsed.scheme}://{host}"


def endpoint_names(urls: Sequence[str]) -> list[str]:
    """Names for an ordered list: two URLs on the same host (two keys of one provider) get #2, #3."""
    names: list[str] = []
    seen: dict[str, int] = {}
    for url in urls:
        name = endpoint_name(url)
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return names


def register_url_secrets(url: str) -> None:
    """Every log line and stored error redacts this URL's user info, path and query."""
    for secret in url_secrets(url):
        register_secret(secret)


def is_replayable(method: str) -> bool:
    return method not in NOT_REPLAYABLE_METHODS and not method.startswith(NOT_REPLAYABLE_PREFIXES)


def classify_failure(exc: BaseException) -> tuple[str, bool] | None:
    """(reason, may have reached a node) for a failure that moves the request to the next endpoint,
    or None when it is not the endpoint's fault (a 4xx other than 429, a bug in the caller)."""
    if isinstance(exc, requests.HTTPError):
        status = exc.response.status_code if exc.response is not None else None
        if status == 429:
            return "http_429", False
        if status is not None and 500 <= status <= 599:
            return "http_5xx", True
        return None
    if isinstance(exc, requests.ConnectTimeout):  # before Timeout and ConnectionError: it is both
        return "connect_timeout", False
    if isinstance(exc, requests.Timeout):
        return "timeout", True
    if isinstance(exc, requests.ConnectionError):
        return "connection", not _never_connected(exc)
    if isinstance(exc, TimeoutError):
        return "timeout", True
    if isinstance(exc, ConnectionRefusedError):
        return "connection", False
    if isinstance(exc, ConnectionError):
        return "connection", True
    if isinstance(exc, UnreadableResponse):
        return "bad_response", True
    if isinstance(exc, RateLimitedAnswer):
        return "rate_limited", False
    return None


def _never_connected(exc: requests.ConnectionError) -> bool:
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)


def is_rate_limited_answer(response: Any) -> bool:
    error = response.get("error") if isinstance(response, dict) else None
    if not isinstance(error, dict):
        return False
    message = str(error.get("message", "")).lower()
    return any(phrase in message for phrase in RATE_LIMIT_PHRASES)


@dataclass(frozen=True)
class HealthPolicy:
    failure_threshold: int = 1  # consecutive failures that take an endpoint out of service
    base_cooldown: float = 2.0  # seconds out of service after reaching the threshold
    max_cooldown: float = 60.0  # the cooldown doubles per further failure, up to this

    def cooldown(self, consecutive_failures: int) -> float:
        beyond = max(0, consecutive_failures - self.failure_threshold)
        return min(self.base_cooldown * (2 ** min(beyond, 32)), self.max_cooldown)


@dataclass
class EndpointHealth:
    """One endpoint's record in this process. Times come from the registry's clock (monotonic)."""

    name: str
    in_service: bool = True
    consecutive_failures: int = 0
    retry_at: float = 0.0  # while out of service: when the next probe may be made
    failures_total: int = 0
    successes_total: int = 0
    last_failure: str = ""  # reason and redacted error text
    chain_id: int | None = None  # what the endpoint reported (checked against CHAIN_ID)

    def available(self, now: float) -> bool:
        return self.in_service or now >= self.retry_at

    def due_for_probe(self, now: float) -> bool:
        return not self.in_service and now >= self.retry_at


class HealthRegistry:
    """Endpoint health by URL, shared by every provider of a process (or one per unit test)."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self.clock = clock
        self.lock = threading.Lock()
        self._by_url: dict[str, EndpointHealth] = {}
        # url -> the chain ids it reported: a new provider for the same URL does not ask again.
        self.checked: dict[str, set[int]] = {}

    def get(self, url: str, name: str) -> EndpointHealth:
        with self.lock:
            health = self._by_url.get(url)
            if health is None:
                health = self._by_url[url] = EndpointHealth(name=name)
                RPC_ENDPOINT_HEALTHY.labels(name).set(1)
            return health

    def record_success(self, health: EndpointHealth) -> bool:
        """Returns True when this success brought the endpoint back into service."""
        with self.lock:
            recovered = not health.in_service
            health.in_service = True
            health.consecutive_failures = 0
            health.retry_at = 0.0
            health.successes_total += 1
        RPC_ENDPOINT_HEALTHY.labels(health.name).set(1)
        return recovered

    def record_failure(self, health: EndpointHealth, policy: HealthPolicy, reason: str) -> bool:
        """Returns True when this failure took the endpoint out of service (or extended its cooldown)."""
        now = self.clock()
        with self.lock:
            health.consecutive_failures += 1
            health.failures_total += 1
            health.last_failure = reason[:300]
            out = health.consecutive_failures >= policy.failure_threshold
            if out:
                health.in_service = False
                health.retry_at = now + policy.cooldown(health.consecutive_failures)
        if out:
            RPC_ENDPOINT_HEALTHY.labels(health.name).set(0)
        return out

    def reset(self) -> None:
        with self.lock:
            self._by_url.clear()
            self.checked.clear()


SHARED_HEALTH = HealthRegistry()


@dataclass
class Endpoint:
    url: str
    name: str
    health: EndpointHealth
    provider: Any
    probe_provider: Any
    checked_chain_ids: set[int] = field(default_factory=set)


class FailoverProvider(JSONBaseProvider):
    """A web3 provider that sends each request to the first endpoint in service (see module doc)."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        chain_id: int,
        transport: Transport,
        timeout: float,
        probe_timeout: float,
        policy: HealthPolicy | None = None,
        registry: HealthRegistry | None = None,
    ) -> None:
        super().__init__()
        urls = list(dict.fromkeys(u for u in urls if u))  # ordered, without repeats
        if not urls:
            raise ImproperlyConfigured("no RPC endpoint configured (CHAIN_RPC_URLS / CHAIN_RPC_URL)")
        self.chain_id = chain_id
        self.policy = policy or HealthPolicy()
        self.registry = registry or SHARED_HEALTH
        self.endpoints: list[Endpoint] = []
        for url, name in zip(urls, endpoint_names(urls), strict=True):
            register_url_secrets(url)
            self.endpoints.append(
                Endpoint(
                    url=url,
                    name=name,
                    health=self.registry.get(url, name),
                    provider=transport(url, timeout),
                    probe_provider=transport(url, min(probe_timeout, timeout)),
                )
            )
        self._first_use_done = False
        self._first_use_lock = threading.Lock()
        self._refusal: ChainIdMismatch | None = None

    def __str__(self) -> str:
        return "RPC endpoints " + ", ".join(e.name for e in self.endpoints)

    # -- web3 provider API -- #

    def make_request(self, method: Any, params: Any) -> Any:
        name = str(method)
        return self._route(name, lambda provider: provider.make_request(method, params), is_replayable(name))

    def make_batch_request(self, batch_requests: list[tuple[Any, Any]]) -> Any:
        replayable = all(is_replayable(str(method)) for method, _params in batch_requests)
        return self._route("batch", lambda provider: provider.make_batch_request(batch_requests), replayable)

    # -- status -- #

    def status(self) -> list[dict[str, Any]]:
        """Each endpoint, in preference order, as an operator may see it (no URL)."""
        now = self.registry.clock()
        return [
            {
                "endpoint": e.name,
                "in_service": e.health.in_service,
                "consecutive_failures": e.health.consecutive_failures,
                "retry_in_seconds": (
                    None if e.health.in_service else round(max(0.0, e.health.retry_at - now), 1)
                ),
                "failures_total": e.health.failures_total,
                "successes_total": e.health.successes_total,
                "last_failure": e.health.last_failure,
                "chain_id": e.health.chain_id,
            }
            for e in self.endpoints
        ]

    def check_chain_ids(self) -> list[dict[str, Any]]:
        """Ask every endpoint for its chain id now (chain_status, deployment checks). Raises
        ChainIdMismatch for the first that serves another chain; an unreachable one is reported."""
        results = []
        for endpoint in self.endpoints:
            try:
                self._probe(endpoint)
            except ChainIdMismatch:
                raise
            except Exception as exc:
                if classify_failure(exc) is None:
                    raise
                results.append({"endpoint": endpoint.name, "ok": False, "error": describe_error(exc)[:300]})
            else:
                results.append({"endpoint": endpoint.name, "ok": True, "chain_id": endpoint.health.chain_id})
        return results

    # -- routing -- #

    def _route(self, method: str, call: Callable[[Any], Any], replayable: bool) -> Any:
        if self._refusal is not None:
            raise self._refusal
        failed: list[tuple[Endpoint, str, BaseException | None]] = []
        skip = self._check_on_first_use(failed)
        rate_limited_answer: Any = None
        for endpoint in self._plan(skip):
            if self._needs_probe(endpoint) and not self._probe_ok(endpoint, failed):
                continue  # the request itself was not sent there
            started = time.perf_counter()
            try:
                response = call(endpoint.provider)
            except Exception as exc:
                kind = classify_failure(exc)
                if kind is None:
                    raise  # not the endpoint's failure: the caller's to handle, as before failover
                reason, may_have_reached = kind
                self._failed(endpoint, reason, exc, method)
                failed.append((endpoint, reason, exc))
                if may_have_reached and not replayable:
                    raise  # see NOT_REPLAYABLE_METHODS: a second node must not run it again
                continue
            RPC_ENDPOINT_LATENCY.labels(endpoint.name).observe(time.perf_counter() - started)
            if is_rate_limited_answer(response):
                self._failed(endpoint, "rate_limited", None, method)
                failed.append((endpoint, "rate_limited", None))
                rate_limited_answer = response
                continue
            self._succeeded(endpoint)
            for source, reason, _exc in failed:
                if source is not endpoint:
                    RPC_FAILOVERS.labels(source.name, endpoint.name, reason).inc()
            if failed:
                logger.info(
                    "RPC %s served by %s after %s failed",
                    method,
                    endpoint.name,
                    ", ".join(f"{e.name} ({reason})" for e, reason, _ in failed),
                )
            return response
        if rate_limited_answer is not None:
            return rate_limited_answer  # every endpoint is rate limiting: the caller sees the answer
        raise self._unavailable(method, failed)

    def _probe_ok(self, endpoint: Endpoint, failed: list[tuple[Endpoint, str, BaseException | None]]) -> bool:
        try:
            self._probe(endpoint)
        except ChainIdMismatch:
            raise
        except Exception as exc:
            kind = classify_failure(exc)
            if kind is None:
                raise
            self._failed(endpoint, kind[0], exc, "eth_chainId (probe)")
            failed.append((endpoint, kind[0], exc))
            return False
        return True

    def _plan(self, skip: set[str]) -> list[Endpoint]:
        """Endpoints to try, in preference order: those in service or due for a probe, then, as a
        last resort when those fail, the one out of service whose cooldown ends first (a request
        must reach some node; with one endpoint, every request reaches it)."""
        now = self.registry.clock()
        candidates = [e for e in self.endpoints if e.name not in skip]
        ready = [e for e in candidates if e.health.available(now)]
        cooling = [e for e in candidates if not e.health.available(now)]
        if cooling:
            ready.append(min(cooling, key=lambda e: e.health.retry_at))
        return ready

    def _needs_probe(self, endpoint: Endpoint) -> bool:
        return self.chain_id not in endpoint.checked_chain_ids or endpoint.health.due_for_probe(
            self.registry.clock()
        )

    def _probe(self, endpoint: Endpoint) -> None:
        """eth_chainId with the probe timeout: the endpoint answers and serves CHAIN_ID, or raises."""
        started = time.perf_counter()
        response = endpoint.probe_provider.make_request("eth_chainId", [])
        RPC_ENDPOINT_LATENCY.labels(endpoint.name).observe(time.perf_counter() - started)
        if is_rate_limited_answer(response):
            raise RateLimitedAnswer(str(response.get("error"))[:200])
        result = response.get("result") if isinstance(response, dict) else None
        if result is None:
            raise UnreadableResponse(f"eth_chainId: {str(response)[:200]}")
        reported = int(result, 16) if isinstance(result, str) else int(result)
        endpoint.health.chain_id = reported
        if reported != self.chain_id:
            self._refusal = ChainIdMismatch(
                f"RPC endpoint {endpoint.name}: node reports chain id {reported}, configured "
                f"{self.chain_id}. Every endpoint in CHAIN_RPC_URLS must serve CHAIN_ID; "
                "refusing to use these endpoints."
            )
            logger.error("%s", self._refusal)
            RPC_ENDPOINT_REQUESTS.labels(endpoint.name, "wrong_chain").inc()
            raise self._refusal
        endpoint.checked_chain_ids.add(reported)
        with self.registry.lock:
            self.registry.checked.setdefault(endpoint.url, set()).add(reported)
        self._succeeded(endpoint)

    def _check_on_first_use(self, failed: list[tuple[Endpoint, str, BaseException | None]]) -> set[str]:
        """Ask every endpoint for its chain id once (those already checked in this process are
        not asked again). Returns the names that could not be reached, skipped for this request."""
        if self._first_use_done:
            return set()
        skip: set[str] = set()
        with self._first_use_lock:
            if self._first_use_done:
                return skip
            for endpoint in self.endpoints:
                if self.chain_id in self.registry.checked.get(endpoint.url, ()):
                    endpoint.checked_chain_ids.add(self.chain_id)
                elif not self._probe_ok(endpoint, failed):
                    skip.add(endpoint.name)
            self._first_use_done = True
        return skip

    def _succeeded(self, endpoint: Endpoint) -> None:
        RPC_ENDPOINT_REQUESTS.labels(endpoint.name, "ok").inc()
        if self.registry.record_success(endpoint.health):
            logger.warning("RPC endpoint %s is back in service", endpoint.name)

    def _failed(self, endpoint: Endpoint, reason: str, exc: BaseException | None, method: str) -> None:
        RPC_ENDPOINT_REQUESTS.labels(endpoint.name, reason).inc()
        detail = f"{reason}: {describe_error(exc)}" if exc is not None else reason
        was_in_service = endpoint.health.in_service
        if self.registry.record_failure(endpoint.health, self.policy, detail):
            cooldown = self.policy.cooldown(endpoint.health.consecutive_failures)
            log = logger.warning if was_in_service else logger.info
            log(
                "RPC endpoint %s out of service for %.1fs after %d consecutive failures (%s on %s)",
                endpoint.name,
                cooldown,
                endpoint.health.consecutive_failures,
                detail[:300],
                method,
            )

    def _unavailable(
        self, method: str, failed: list[tuple[Endpoint, str, BaseException | None]]
    ) -> BaseException:
        errors = [exc for _e, _r, exc in failed if exc is not None]
        transport_only = all(isinstance(exc, requests.ConnectionError | requests.Timeout) for exc in errors)
        if len(self.endpoints) == 1 and errors and transport_only:
            return errors[-1]  # one node: the same exception as before failover existed
        tried = ", ".join(f"{e.name} ({reason})" for e, reason, _ in failed) or "none in service"
        error = EndpointsUnavailable(f"no RPC endpoint could serve {method}: {tried}")
        error.__cause__ = errors[-1] if errors else None
        return error


def reset_health() -> None:
    """Forget every endpoint's health and chain id check (tests)."""
    SHARED_HEALTH.reset()
