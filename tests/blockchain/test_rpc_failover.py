"""RPC failover (issue #24): reads and broadcasts move to the next healthy endpoint when one fails as
a transport (refused, timed out, 429, 5xx), never when a node answered; endpoints recover and the
primary is preferred again; every endpoint must serve CHAIN_ID; URLs never appear in names, metrics,
status or stored errors.

The unit tests drive the failover provider with scripted fake endpoints and an injected clock (no
network, no wall clock). The chain tests put a switchable failing JSON-RPC proxy in front of the
session's anvil as the primary and anvil itself as the backup.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from django.core.management import call_command
from django.core.management.base import CommandError
from eth_utils import keccak
from urllib3.exceptions import MaxRetryError, NewConnectionError

from blockchain.chain import failover
from blockchain.chain.client import TRANSIENT_ERRORS, build_web3, configured_rpc_urls, get_web3, rpc_batch
from blockchain.chain.failover import (
    ChainIdMismatch,
    EndpointsUnavailable,
    FailoverProvider,
    HealthPolicy,
    HealthRegistry,
    endpoint_name,
)
from blockchain.chain.metrics import RPC_ENDPOINT_HEALTHY, RPC_ENDPOINT_REQUESTS, RPC_FAILOVERS
from core.log_format import REDACTED, describe_error, redact, secret_values
from devtools.processes import free_port

API_KEY = "s3cretKeyOfTheBackupProvider0123"
PRIMARY = "https://primary.example:8545/v3/" + API_KEY
BACKUP = f"https://user:pw-{API_KEY}@backup.example/rpc?apikey={API_KEY}"


# -- fake endpoints and a clock ------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def refused() -> requests.ConnectionError:
    reason = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] refused")
    return requests.ConnectionError(MaxRetryError(None, "/", reason=reason))


def http_error(status: int, url: str = PRIMARY) -> requests.HTTPError:
    response = requests.Response()
    response.status_code = status
    return requests.HTTPError(f"{status} Server Error: for url: {url}", response=response)


class FakeNode:
    """One endpoint: answers every call with `chain_id` / "0x1", or fails as `failure` says."""

    def __init__(self, chain_id: int = 31337) -> None:
        self.chain_id = chain_id
        self.failure: BaseException | None = None
        self.answer: dict | None = None  # a JSON-RPC error object to answer with instead
        self.calls: list[str] = []

    def make_request(self, method, params):
        self.calls.append(str(method))
        if self.failure is not None:
            raise self.failure
        if self.answer is not None and method != "eth_chainId":
            return {"jsonrpc": "2.0", "id": 1, "error": self.answer}
        result = hex(self.chain_id) if method == "eth_chainId" else "0x1"
        return {"jsonrpc": "2.0", "id": 1, "result": result}

    def make_batch_request(self, batch):
        self.calls.append("batch")
        if self.failure is not None:
            raise self.failure
        return [{"jsonrpc": "2.0", "id": i, "result": "0x1"} for i, _ in enumerate(batch)]

    def served(self) -> list[str]:
        return [c for c in self.calls if c != "eth_chainId"]


def make_provider(*nodes: FakeNode, urls=None, clock=None, policy=None, chain_id=31337):
    urls = urls or [f"http://node{i}.example:8545" for i in range(len(nodes))]
    by_url = dict(zip(urls, nodes, strict=True))
    return FailoverProvider(
        urls,
        chain_id=chain_id,
        transport=lambda url, timeout: by_url[url],
        timeout=10,
        probe_timeout=2,
        policy=policy or HealthPolicy(failure_threshold=1, base_cooldown=2, max_cooldown=16),
        registry=HealthRegistry(clock=clock or Clock()),
    )


# -- health scoring --------------------------------------------------------------------------------


def test_the_cooldown_doubles_per_failure_up_to_its_cap():
    policy = HealthPolicy(failure_threshold=2, base_cooldown=2, max_cooldown=16)
    assert [policy.cooldown(n) for n in range(1, 8)] == [2, 2, 4, 8, 16, 16, 16]


def test_a_refusing_primary_moves_requests_to_the_backup_until_it_recovers():
    clock = Clock()
    primary, backup = FakeNode(), FakeNode()
    provider = make_provider(primary, backup, clock=clock)
    primary.failure = refused()

    assert provider.make_request("eth_blockNumber", [])["result"] == "0x1"
    assert backup.served() == ["eth_blockNumber"]
    status = provider.status()
    assert status[0]["in_service"] is False and status[0]["retry_in_seconds"] == 2
    assert status[1]["in_service"] is True

    primary.calls.clear()
    provider.make_request("eth_blockNumber", [])  # cooling down: the primary is not even asked
    assert primary.calls == [] and backup.served() == ["eth_blockNumber"] * 2

    clock.advance(2)  # cooldown over, still down: the probe fails and the cooldown doubles
    provider.make_request("eth_blockNumber", [])
    assert primary.calls == ["eth_chainId"]
    assert provider.status()[0]["retry_in_seconds"] == 4 and provider.status()[0]["consecutive_failures"] == 2

    primary.failure = None  # it recovers; requests wait for the probe after the cooldown
    clock.advance(3)
    provider.make_request("eth_blockNumber", [])
    assert primary.served() == []
    clock.advance(1)
    provider.make_request("eth_getBalance", [])
    assert primary.calls[-2:] == ["eth_chainId", "eth_getBalance"]  # probed, then preferred again
    assert provider.status()[0] == {**provider.status()[0], "in_service": True, "consecutive_failures": 0}
    backup.calls.clear()
    provider.make_request("eth_blockNumber", [])
    assert backup.calls == []


def test_a_threshold_above_one_keeps_the_endpoint_in_service_after_one_failure():
    clock = Clock()
    primary, backup = FakeNode(), FakeNode()
    provider = make_provider(
        primary,
        backup,
        clock=clock,
        policy=HealthPolicy(failure_threshold=3, base_cooldown=1, max_cooldown=8),
    )
    primary.failure = requests.ReadTimeout("read timed out")
    for _ in range(2):
        provider.make_request("eth_blockNumber", [])
        assert provider.status()[0]["in_service"] is True  # tried first again next time
    provider.make_request("eth_blockNumber", [])
    assert provider.status()[0]["in_service"] is False
    assert backup.served() == ["eth_blockNumber"] * 3


def test_when_the_backup_fails_the_cooling_primary_is_tried_as_a_last_resort():
    clock = Clock()
    primary, backup = FakeNode(), FakeNode()
    provider = make_provider(primary, backup, clock=clock)
    provider.make_request("eth_blockNumber", [])
    primary.failure = refused()
    provider.make_request("eth_blockNumber", [])  # primary out of service for 2 s
    primary.failure = None  # it came back early; the backup now fails
    backup.failure = requests.ReadTimeout("read timed out")
    primary.calls.clear()
    assert provider.make_request("eth_blockNumber", [])["result"] == "0x1"
    assert primary.calls == ["eth_blockNumber"] and provider.status()[0]["in_service"] is True


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (refused(), "connection"),
        (requests.ConnectTimeout("connect timed out"), "connect_timeout"),
        (requests.ReadTimeout("read timed out"), "timeout"),
        (http_error(429), "http_429"),
        (http_error(502), "http_5xx"),
        (http_error(503), "http_5xx"),
        (failover.UnreadableResponse("not JSON"), "bad_response"),
    ],
)
def test_each_transport_failure_moves_the_request_and_is_counted(failure, reason):
    primary, backup = FakeNode(), FakeNode()
    provider = make_provider(primary, backup, urls=["http://fail-a.example:1", "http://fail-b.example:2"])
    primary.failure = failure
    before = RPC_FAILOVERS.labels("http://fail-a.example:1", "http://fail-b.example:2", reason)._value.get()
    assert provider.make_request("eth_call", [{}, "latest"])["result"] == "0x1"
    after = RPC_FAILOVERS.labels("http://fail-a.example:1", "http://fail-b.example:2", reason)._value.get()
    assert after == before + 1
    assert RPC_ENDPOINT_HEALTHY.labels("http://fail-a.example:1")._value.get() == 0
    assert provider.status()[0]["last_failure"].startswith(reason)


def test_a_node_s_json_rpc_error_is_an_answer_not_a_reason_to_fail_over():
    primary, backup = FakeNode(), FakeNode()
    provider = make_provider(primary, backup)
    primary.answer = {"code": -32000, "message": "nonce too low"}
    response = provider.make_request("eth_sendRawTransaction", ["0x02f8"])
    assert response["error"]["message"] == "nonce too low"
    assert backup.served() == [] and provider.status()[0]["in_service"] is True


def test_a_rate_limit_error_object_moves_the_request_and_is_returned_when_everyone_limits():
    primary, backup = FakeNode(), FakeNode()
    provider = make_provider(primary, backup)
    primary.answer = {"code": -32005, "message": "Too Many Requests: rate limit exceeded"}
    assert provider.make_request("eth_blockNumber", [])["result"] == "0x1"
    assert backup.served() == ["eth_blockNumber"]
    backup.answer = primary.answer
    primary.calls.clear()
    assert provider.make_request("eth_blockNumber", [])["error"]["code"] == -32005


def test_a_client_error_other_than_429_is_raised_not_failed_over():
    primary, backup = FakeNode(), FakeNode()
    provider = make_provider(primary, backup)
    primary.failure = http_error(401)
    with pytest.raises(requests.HTTPError):
        provider.make_request("eth_blockNumber", [])
    assert backup.served() == []


def test_a_broadcast_is_repeated_on_the_next_node_after_a_timeout():
    # The same signed bytes: the second node imports that transaction or says it already has it.
    primary, backup = FakeNode(), FakeNode()
    provider = make_provider(primary, backup)
    provider.make_request("eth_blockNumber", [])  # both checked (chain id) and in service
    primary.failure = requests.ReadTimeout("read timed out")
    provider.make_request("eth_sendRawTransaction", ["0x02f8aa"])
    assert primary.served()[-1] == backup.served()[-1] == "eth_sendRawTransaction"


def test_a_node_control_call_that_may_have_run_is_not_repeated_elsewhere():
    primary, backup = FakeNode(), FakeNode()
    provider = make_provider(primary, backup)
    provider.make_request("eth_blockNumber", [])
    primary.failure = requests.ReadTimeout("read timed out")
    with pytest.raises(requests.ReadTimeout):
        provider.make_request("anvil_mine", ["0x1"])
    assert "anvil_mine" not in backup.served()
    primary.failure = refused()  # never reached the first: safe to send to the next
    provider.make_request("evm_mine", [])
    assert backup.served()[-1] == "evm_mine"


def test_batches_fail_over_too():
    primary, backup = FakeNode(), FakeNode()
    provider = make_provider(primary, backup)
    primary.failure = http_error(502)
    from web3 import Web3

    w3 = Web3(provider)
    results = rpc_batch(w3, [("eth_getTransactionReceipt", ["0x01"]), ("eth_blockNumber", [])])
    assert results == ["0x1", "0x1"] and backup.calls[-1] == "batch"


def test_when_every_endpoint_fails_the_error_is_transient_and_names_no_url():
    primary, backup = FakeNode(), FakeNode()
    provider = make_provider(primary, backup, urls=[PRIMARY, BACKUP])
    primary.failure = http_error(502, PRIMARY)
    backup.failure = refused()
    with pytest.raises(EndpointsUnavailable) as raised:
        provider.make_request("eth_blockNumber", [])
    assert isinstance(raised.value, TRANSIENT_ERRORS)
    message = str(raised.value)
    assert "https://primary.example:8545 (http_5xx)" in message and "https://backup.example:443" in message
    assert API_KEY not in message and "/v3/" not in message


def test_a_single_endpoint_is_always_tried_and_raises_as_before():
    clock = Clock()
    node = FakeNode()
    provider = make_provider(node, clock=clock)
    node.failure = refused()
    for _ in range(3):  # out of service, but it is the only one: every request still reaches it
        with pytest.raises(requests.ConnectionError) as raised:
            provider.make_request("eth_blockNumber", [])
        assert not isinstance(raised.value, EndpointsUnavailable)
    node.failure = None
    assert provider.make_request("eth_blockNumber", [])["result"] == "0x1"
    assert provider.status()[0]["in_service"] is True


# -- chain id --------------------------------------------------------------------------------------


def test_an_endpoint_on_another_chain_refuses_the_provider_at_first_use():
    primary, backup = FakeNode(), FakeNode(chain_id=137)
    provider = make_provider(primary, backup, urls=[PRIMARY, BACKUP])
    with pytest.raises(ChainIdMismatch) as raised:
        provider.make_request("eth_blockNumber", [])
    message = str(raised.value)
    assert "https://backup.example:443" in message and "chain id 137, configured 31337" in message
    assert API_KEY not in message and "user" not in message
    assert primary.served() == []  # nothing was served, not even by the right primary
    with pytest.raises(ChainIdMismatch):
        provider.make_request("eth_blockNumber", [])


def test_an_endpoint_unreachable_at_first_use_is_checked_before_it_serves():
    clock = Clock()
    primary, backup = FakeNode(), FakeNode(chain_id=1)
    provider = make_provider(primary, backup, clock=clock)
    backup.failure = refused()
    assert provider.make_request("eth_blockNumber", [])["result"] == "0x1"
    backup.failure = None
    primary.failure = refused()
    with pytest.raises(ChainIdMismatch):  # its first probe finds it on chain 1
        provider.make_request("eth_blockNumber", [])
    assert backup.served() == []


def test_a_wrong_chain_id_refuses_build_web3(settings):
    failover.reset_health()
    settings.CHAIN_ID = 99999
    w3 = build_web3(f"http://127.0.0.1:{free_port()}")  # built lazily: nothing is asked yet
    fake = FakeNode()
    for endpoint in w3.provider.endpoints:
        endpoint.provider = endpoint.probe_provider = fake
    with pytest.raises(ChainIdMismatch, match="node reports chain id 31337, configured 99999"):
        _ = w3.eth.block_number


# -- configuration and redaction -------------------------------------------------------------------


def test_the_endpoint_list_follows_chain_rpc_url_overrides(settings):
    settings.CHAIN_RPC_URLS = ["http://a.example:1", "http://b.example:2"]
    settings.CHAIN_RPC_URL = "http://a.example:1"
    assert configured_rpc_urls() == ["http://a.example:1", "http://b.example:2"]
    settings.CHAIN_RPC_URL = "http://elsewhere.example:3"  # a test or command names one node
    assert configured_rpc_urls() == ["http://elsewhere.example:3"]


def test_endpoint_names_carry_no_credentials_path_or_query():
    assert endpoint_name(PRIMARY) == "https://primary.example:8545"
    assert endpoint_name(BACKUP) == "https://backup.example:443"
    assert endpoint_name("http://127.0.0.1:8545") == "http://127.0.0.1:8545"
    assert endpoint_name("http://[::1]:8545/x") == "http://[::1]:8545"
    assert failover.endpoint_names([PRIMARY, "https://primary.example:8545/v3/other"]) == [
        "https://primary.example:8545",
        "https://primary.example:8545#2",
    ]


def test_every_endpoint_url_is_redacted_from_logs_and_stored_errors():
    primary, backup = FakeNode(), FakeNode()
    provider = make_provider(primary, backup, urls=["http://127.0.0.1:1", BACKUP])
    secret_values.cache_clear()
    line = f"HTTPConnectionPool: Max retries exceeded with url: {BACKUP}"
    assert API_KEY not in redact(line) and REDACTED in redact(line)
    assert API_KEY not in describe_error(http_error(502, BACKUP))
    primary.failure = refused()
    backup.failure = http_error(502, BACKUP)
    with pytest.raises(EndpointsUnavailable) as raised:
        provider.make_request("eth_blockNumber", [])
    assert API_KEY not in describe_error(raised.value)
    assert API_KEY not in json.dumps(provider.status())
    labels = {
        s.labels.get("endpoint")
        for metric in RPC_ENDPOINT_REQUESTS.collect()
        for s in metric.samples
        if s.labels.get("endpoint")
    }
    assert "https://backup.example:443" in labels and not any(API_KEY in label for label in labels)


# -- against anvil, through a failing proxy ---------------------------------------------------------


class FailingProxy:
    """A JSON-RPC proxy in front of a node, switchable between: `pass`, `refuse` (nothing listens),
    `hang` (forwards, never answers: the client times out), `429` (refuses to forward), `502`
    (forwards, answers 502: the gateway lost the answer) and `wrong_chain` (answers eth_chainId
    with Polygon's chain id). `only` limits a failing mode to requests that hold one of those methods
    (e.g. the broadcast: it reaches the node, which mines it, and the answer is lost).
    `served` counts requests answered with the node's answer."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.port = free_port()
        self.mode = "pass"
        self.only: tuple[str, ...] = ()
        self.served = 0
        self.lock = threading.Lock()
        self.released = threading.Event()  # ends hanging requests
        self.server: ThreadingHTTPServer | None = None
        self._listen()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set_mode(self, mode: str, *, only: tuple[str, ...] = ()) -> None:
        if mode == "refuse":
            self._close()
        elif self.server is None:
            self._listen()
        if self.mode == "hang":
            self.released.set()
        self.released = threading.Event()
        self.only = only
        self.mode = mode

    def close(self) -> None:
        self.released.set()
        self._close()

    def _forward(self, body: bytes) -> bytes:
        request = urllib.request.Request(  # noqa: S310 - the test's own anvil
            self.upstream, data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return answer.read()

    def _listen(self) -> None:
        proxy = self

        class Handler(BaseHTTPRequestHandler):  # HTTP/1.0: one request per connection
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                mode, released = proxy.mode, proxy.released
                payload = json.loads(body)
                methods = {
                    call.get("method") for call in (payload if isinstance(payload, list) else [payload])
                }
                if proxy.only and not methods & set(proxy.only):
                    mode = "pass"
                if mode == "refuse":  # a connection accepted just before the switch
                    self.close_connection = True
                    return None
                if mode == "429":
                    return self._send(429, b"Too Many Requests")
                if mode == "wrong_chain" and methods == {"eth_chainId"}:
                    return self._send(200, b'{"jsonrpc":"2.0","id":0,"result":"0x89"}')
                data = proxy._forward(body)
                if mode == "hang":
                    released.wait(30)
                    self.close_connection = True
                    return None
                if mode == "502":
                    return self._send(502, b"<html>Bad Gateway</html>")
                with proxy.lock:
                    proxy.served += 1
                return self._send(200, data)

            def _send(self, status: int, data: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                return

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.server = server

    def _close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def proxied(chain, settings):
    """CHAIN_RPC_URLS = [the failing proxy (primary), anvil (backup)], with short timeouts and
    cooldowns so an outage costs the test little time (nothing asserts a duration)."""
    proxy = FailingProxy(chain.url)
    settings.CHAIN_RPC_URLS = [proxy.url, chain.url]
    settings.CHAIN_RPC_URL = proxy.url
    settings.CHAIN_RPC_TIMEOUT = 2.0
    settings.CHAIN_RPC_PROBE_TIMEOUT = 0.5
    settings.CHAIN_RPC_COOLDOWN_SECONDS = 0.1
    settings.CHAIN_RPC_MAX_COOLDOWN_SECONDS = 0.4
    failover.reset_health()
    get_web3.cache_clear()
    yield proxy
    proxy.close()
    failover.reset_health()
    get_web3.cache_clear()


def loan_stored_logs(w3, registry: str, loan_id: str) -> list:
    topic = "0x" + keccak(text=loan_id).hex()
    return w3.eth.get_logs(
        {"address": registry, "fromBlock": 0, "toBlock": "latest", "topics": [None, topic]}
    )


def failovers_from(name: str) -> dict[str, float]:
    counts: dict[str, float] = {}
    for metric in RPC_FAILOVERS.collect():
        for s in metric.samples:
            if s.name.endswith("_total") and s.labels["from_endpoint"] == name:
                counts[s.labels["reason"]] = counts.get(s.labels["reason"], 0) + s.value
    return counts


def requests_served_by(name: str) -> float:
    return RPC_ENDPOINT_REQUESTS.labels(name, "ok")._value.get()


@pytest.mark.chain
@pytest.mark.django_db
def test_fifty_writes_and_the_indexer_continue_through_the_primarys_outage(
    contracts, chain, proxied, settings
):
    from blockchain.indexing.indexer import Indexer
    from blockchain.indexing.reconcile import run_reconcile
    from blockchain.models import ChainEvent, ChainSyncState, ChainTransaction, TxStatus
    from blockchain.outbox.confirmer import confirm_pending
    from blockchain.outbox.sender import send_queued
    from loans import services
    from loans.models import Loan, LoanStatus
    from loans.onchain.intents import STORE_KIND
    from tests.support.loans import make_loan
    from tests.support.outbox import settle_outbox, wait_for

    proxy = proxied
    primary, backup = endpoint_name(proxy.url), endpoint_name(chain.url)
    direct = build_web3(chain.url)
    failovers_before = failovers_from(primary)

    loan_ids: list[str] = []

    def approve(count: int) -> None:
        for _ in range(count):
            loan = make_loan()
            services.approve_loan(loan=loan, actor=None)
            loan_ids.append(loan.loan_id)

    def index() -> None:
        Indexer().run()
        assert not ChainSyncState.objects.get(chain_id=settings.CHAIN_ID).last_error

    def primary_in_service() -> None:
        served_before = proxy.served

        def serves() -> bool:
            _ = get_web3().eth.block_number  # routed to the primary once a probe finds it answering
            return proxy.served > served_before + 1  # the probe, then a request

        wait_for(serves, timeout=30, interval=0.1, what="the primary to serve requests again")

    # In flight when the primary goes: signed and broadcast through it, confirmed without it.
    approve(10)
    send_queued()
    proxy.set_mode("refuse")
    confirm_pending()
    index()
    # Then each outage starts with the primary in service, and rows in every state: queued ones are
    # simulated, signed and broadcast during it, earlier ones confirmed and indexed during it. With
    # `only`, the broadcast itself reaches anvil through the primary (mined) and its answer is lost:
    # the same bytes go to the backup, which must not make a second transaction.
    phases = [
        ("refuse", ()),
        ("502", ("eth_sendRawTransaction",)),
        ("429", ()),
        ("hang", ("eth_sendRawTransaction",)),
        ("502", ()),
    ]
    for mode, only in phases:
        proxy.set_mode("pass")
        primary_in_service()
        approve(4)
        send_queued()
        approve(4)
        proxy.set_mode(mode, only=only)
        send_queued()
        confirm_pending()
        index()
    assert len(loan_ids) == 50

    proxy.set_mode("pass")  # the primary recovers: after its cooldown a probe brings it back
    primary_in_service()
    served_by_primary = proxy.served
    settle_outbox()
    index()
    assert proxy.served > served_by_primary, "the recovered primary did not serve the outbox and indexer"
    assert get_web3().provider.status()[0] == {
        **get_web3().provider.status()[0],
        "endpoint": primary,
        "in_service": True,
    }

    # All 50 confirmed, none failed, each storeLoan on chain exactly once.
    rows = ChainTransaction.objects.filter(kind=STORE_KIND, loan__loan_id__in=loan_ids)
    assert rows.count() == 50
    assert set(rows.values_list("status", flat=True)) == {TxStatus.CONFIRMED}
    assert not ChainTransaction.objects.filter(status=TxStatus.FAILED).exists()
    registry = contracts["LoanRegistry"]
    for loan_id in loan_ids:
        assert len(loan_stored_logs(direct, registry, loan_id)) == 1, loan_id
    assert set(Loan.objects.filter(loan_id__in=loan_ids).values_list("status", flat=True)) == {
        LoanStatus.ANCHORED
    }

    # The indexer's cached events match the chain.
    on_chain = {
        (log["transactionHash"].to_0x_hex(), log["logIndex"])
        for log in direct.eth.get_logs({"address": registry, "fromBlock": 0, "toBlock": "latest"})
    }
    cached = set(
        ChainEvent.objects.filter(contract_address__iexact=registry, removed=False).values_list(
            "tx_hash", "log_index"
        )
    )
    assert cached == on_chain
    assert run_reconcile().drift_count == 0

    # Every kind of outage moved requests from the primary to the backup.
    failovers = failovers_from(primary)
    moved = {reason for reason, count in failovers.items() if count > failovers_before.get(reason, 0)}
    assert moved >= {"connection", "http_5xx", "http_429", "timeout"}, failovers
    assert requests_served_by(backup) > 0 and requests_served_by(primary) > 0


@pytest.mark.chain
@pytest.mark.django_db
def test_a_backup_on_another_chain_is_refused_by_name(contracts, chain, settings):
    proxy = FailingProxy(chain.url)
    try:
        proxy.set_mode("wrong_chain")
        backup = f"{proxy.url}/v3/{API_KEY}"
        settings.CHAIN_RPC_URLS = [chain.url, backup]
        settings.CHAIN_RPC_URL = chain.url
        failover.reset_health()
        get_web3.cache_clear()
        secret_values.cache_clear()
        with pytest.raises(ChainIdMismatch) as raised:
            _ = get_web3().eth.block_number
        assert endpoint_name(proxy.url) in str(raised.value) and API_KEY not in str(raised.value)
        with pytest.raises(CommandError) as refused_command:
            call_command("chain_status")
        assert "chain id 137" in str(refused_command.value) and API_KEY not in str(refused_command.value)
    finally:
        proxy.close()
        failover.reset_health()
        get_web3.cache_clear()


def test_large_answers_are_parsed_by_the_fast_parser_with_json_s_values(monkeypatch):
    from blockchain.chain import client

    logs = [
        {
            "address": "0x" + "ab" * 20,
            "topics": ["0x" + "cd" * 32],
            "data": "0x" + "00" * 300,
            "n": 2**200,
            "é": "ü😀",
        }
        for _ in range(client.LARGE_RESPONSE_BYTES // 300)
    ]
    raw = json.dumps({"jsonrpc": "2.0", "id": 1, "result": logs}).encode()
    assert len(raw) >= client.LARGE_RESPONSE_BYTES
    parsed = []
    fast = client.from_json
    monkeypatch.setattr(client, "from_json", lambda body: parsed.append(len(body)) or fast(body))
    provider = client.InstrumentedHTTPProvider("http://127.0.0.1:1")
    assert provider.decode_rpc_response(raw) == json.loads(raw)
    assert parsed == [len(raw)]
    small = b'{"jsonrpc": "2.0", "id": 2, "result": "0x1"}'
    assert provider.decode_rpc_response(small) == json.loads(small)
    assert parsed == [len(raw)]  # small answers: web3's own decoding
    # a cut large body is the endpoint's failure, as with the standard parser: the next one is tried
    with pytest.raises(failover.UnreadableResponse):
        provider.decode_rpc_response(raw[:-10])
