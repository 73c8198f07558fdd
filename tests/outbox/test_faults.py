"""Fault behaviour of the write path with real worker processes, Redis, PostgreSQL and anvil.

Each test publishes to a broker of its own (`isolated_broker`), so exactly the workers it starts
consume its messages. The confirmer runs in the test process; the senders run in the workers.
"""

from __future__ import annotations

import contextlib
import subprocess
import time

import pytest
from django.conf import settings
from django.db import transaction
from django.test import override_settings
from eth_utils import keccak

from blockchain.chain.client import build_web3, get_web3
from blockchain.chain.signer import get_signer
from blockchain.models import AttemptStatus, ChainTransaction, TxAttempt, TxStatus
from blockchain.outbox.confirmer import confirm_pending
from blockchain.outbox.tasks import send_outbox, sweep_outbox
from contracts.deployment import deploy_suite
from devtools.devnode import AnvilNode
from devtools.processes import free_port, port_is_open, wait_until
from tests.conftest import LOG_DIR, celery_broker
from tests.outbox.helpers import enqueue_store_loan, unique_loan_id
from tests.outbox.pool import WORKER_ENV as POOL_WORKER_ENV
from tests.outbox.pool import nonces_by_signer, signer_pool

pytestmark = [pytest.mark.chain, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def confirm_until_all_confirmed(expected: int, *, timeout: float, sweep: bool = False) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sweep:
            sweep_outbox()
        with contextlib.suppress(Exception):  # the node may still be coming back
            confirm_pending()
        if ChainTransaction.objects.filter(status=TxStatus.CONFIRMED).count() >= expected:
            return
        time.sleep(0.3)
    raise AssertionError(f"not all confirmed in {timeout}s: {dict_of_statuses()}")


def dict_of_statuses() -> dict:
    from django.db.models import Count

    return dict(ChainTransaction.objects.values_list("status").annotate(n=Count("id")))


def loan_stored_logs(w3, registry_address: str, loan_id: str) -> list:
    return w3.eth.get_logs(
        {
            "address": registry_address,
            "fromBlock": 0,
            "toBlock": "latest",
            "topics": [None, "0x" + keccak(text=loan_id).hex()],
        }
    )


def test_300_intents_two_workers_contiguous_nonces_no_errors(contracts, isolated_broker, worker_factory):
    w3 = get_web3()
    signer = get_signer().address
    start = w3.eth.get_transaction_count(signer, "pending")
    worker_factory("sender-a", extra_env={"REDIS_URL": isolated_broker})
    worker_factory("sender-b", extra_env={"REDIS_URL": isolated_broker})

    rows = [enqueue_store_loan() for _ in range(300)]  # 300 commits, 300 kicks
    confirm_until_all_confirmed(300, timeout=120)

    nonces = sorted(
        ChainTransaction.objects.filter(pk__in=[r.pk for r in rows]).values_list("nonce", flat=True)
    )
    assert nonces == list(range(start, start + 300)), "nonces must be contiguous, without gap or reuse"
    assert w3.eth.get_transaction_count(signer, "latest") == start + 300
    assert not TxAttempt.objects.filter(status=AttemptStatus.DROPPED).exists()
    assert not ChainTransaction.objects.filter(last_error__icontains="nonce").exists()
    assert TxAttempt.objects.count() == 300  # one version each: nothing was re-signed
    # both workers took part
    logs = "".join(p.read_text() for p in LOG_DIR.glob("sender-*.log"))
    assert logs.count("blockchain.outbox.tasks.send_outbox") > 0


def test_worker_killed_after_broadcast_gives_exactly_one_transaction(
    contracts, isolated_broker, worker_factory
):
    w3 = get_web3()
    signer = get_signer().address
    before = w3.eth.get_transaction_count(signer, "latest")
    crashing = worker_factory(
        "crashing-sender",
        pool="solo",
        concurrency=1,
        extra_env={"REDIS_URL": isolated_broker, "LEDGERBRIDGE_FAILPOINTS": "after_broadcast"},
    )
    loan_id = unique_loan_id("CRASH")
    row = enqueue_store_loan(loan_id)
    wait_until(lambda: not crashing.running(), timeout=60, what="the worker to die at the failpoint")

    row.refresh_from_db()
    assert row.status == TxStatus.SIGNED, "the worker died between broadcast and its DB write"
    assert w3.eth.get_transaction_count(signer, "latest") == before + 1  # the node had it

    # Recovery: a healthy worker and the sweep; the stored bytes are re-broadcast, not re-signed.
    worker_factory("healthy-sender", extra_env={"REDIS_URL": isolated_broker})
    with override_settings(OUTBOX_REBROADCAST_SECONDS=0):
        confirm_until_all_confirmed(1, timeout=60, sweep=True)
    row.refresh_from_db()
    assert row.status == TxStatus.CONFIRMED
    assert TxAttempt.objects.filter(transaction=row).count() == 1
    assert len(loan_stored_logs(w3, contracts["LoanRegistry"], loan_id)) == 1
    assert w3.eth.get_transaction_count(signer, "latest") == before + 1


@pytest.fixture
def private_anvil(tmp_path):
    """An anvil of this test's own that can be stopped and restarted with its state. It mines a block
    every second, as a real chain does, instead of one per arriving transaction: after the restart
    the workers send 47 transactions at once, and anvil's automine once mined 12 of them and left the
    other 35 in its pool, ready and never mined (every re-broadcast answered "already imported")."""
    port = free_port()
    state = tmp_path / "anvil-state.json"

    def start() -> AnvilNode:
        return AnvilNode(
            port=port, state_path=state, block_time=1, log_path=LOG_DIR / "private-anvil.log"
        ).start()

    node = start()
    holder = {"node": node}

    def restart() -> AnvilNode:
        holder["node"] = start()
        return holder["node"]

    with override_settings(CHAIN_RPC_URL=node.url):
        get_web3.cache_clear()
        yield node, restart
    holder["node"].stop()
    get_web3.cache_clear()


def test_node_down_for_30s_loses_and_duplicates_nothing(private_anvil, isolated_broker, worker_factory):
    node, restart = private_anvil
    w3 = build_web3(node.url)
    (registry,) = [d for d in deploy_suite(w3=w3, signer=get_signer()) if d.name == "LoanRegistry"]
    signer = get_signer().address
    start = w3.eth.get_transaction_count(signer, "latest")
    env = {"REDIS_URL": isolated_broker, "CHAIN_RPC_URL": node.url}
    worker_factory("outage-a", extra_env=env)
    worker_factory("outage-b", extra_env=env)

    loan_ids = [unique_loan_id("OUT") for _ in range(50)]
    for loan_id in loan_ids[:10]:
        enqueue_store_loan(loan_id)
    node.stop()  # the node goes away with intents in every state: queued, maybe signed or sent
    for loan_id in loan_ids[10:]:
        enqueue_store_loan(loan_id)
    assert not port_is_open("127.0.0.1", node.port)
    time.sleep(30)
    node = restart()

    get_web3.cache_clear()
    with override_settings(OUTBOX_REBROADCAST_SECONDS=1):
        confirm_until_all_confirmed(50, timeout=180, sweep=True)
    w3 = build_web3(node.url)
    assert w3.eth.get_transaction_count(signer, "latest") == start + 50
    for loan_id in loan_ids:
        assert len(loan_stored_logs(w3, registry.address, loan_id)) == 1, loan_id
    nonces = sorted(ChainTransaction.objects.values_list("nonce", flat=True))
    assert nonces == list(range(start, start + 50))


@pytest.fixture
def stopped_redis():
    """A Redis server on a port of its own, not running yet: start() brings it up."""
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    procs = []

    def start() -> None:
        procs.append(
            subprocess.Popen(
                [
                    "redis-server",
                    "--bind",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        wait_until(lambda: port_is_open("127.0.0.1", port), timeout=20, what="redis-server")

    with celery_broker(url):
        yield url, start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=10)


def test_broker_down_at_commit_rows_are_sent_after_it_returns(contracts, stopped_redis, worker_factory):
    url, start_redis = stopped_redis
    began = time.monotonic()
    rows = [enqueue_store_loan() for _ in range(5)]  # every on-commit kick fails: no broker
    assert time.monotonic() - began < 10, "a request must not hang on a dead broker"
    assert ChainTransaction.objects.filter(status=TxStatus.QUEUED).count() == 5

    start_redis()
    worker_factory("after-outage", extra_env={"REDIS_URL": url})
    confirm_until_all_confirmed(5, timeout=60, sweep=True)  # the sweep re-kicks the sender
    assert all(ChainTransaction.objects.get(pk=r.pk).status == TxStatus.CONFIRMED for r in rows)


def test_send_task_is_routed_to_the_chain_send_queue():
    assert send_outbox.app.amqp.router.route({}, send_outbox.name)["queue"].name == "chain-send"
    assert settings.CELERY_TASK_ROUTES["blockchain.outbox.tasks.confirm_*"]["queue"] == "chain-send"


# --- the same faults with the signer pool (anvil accounts 1..3, each its own nonce lane) -----------


@pytest.fixture
def pool(contracts):
    with signer_pool(contracts) as addresses:
        yield addresses


def _assert_lanes_contiguous(rows, start: dict[str, int], w3) -> dict[str, list[int]]:
    by_signer = nonces_by_signer(ChainTransaction.objects.filter(pk__in=[r.pk for r in rows]))
    for signer, nonces in by_signer.items():
        assert sorted(nonces) == list(range(start[signer], start[signer] + len(nonces))), signer
        assert w3.eth.get_transaction_count(signer, "latest") == start[signer] + len(nonces), signer
    return by_signer


def test_300_intents_two_workers_with_the_pool_contiguous_nonces_per_signer(
    pool, isolated_broker, worker_factory
):
    w3 = get_web3()
    start = {a: w3.eth.get_transaction_count(a, "pending") for a in pool}
    env = {"REDIS_URL": isolated_broker, **POOL_WORKER_ENV}
    worker_factory("pool-sender-a", extra_env=env)
    worker_factory("pool-sender-b", extra_env=env)

    rows = [enqueue_store_loan() for _ in range(300)]
    confirm_until_all_confirmed(300, timeout=120)

    by_signer = _assert_lanes_contiguous(rows, start, w3)
    assert set(by_signer) == set(pool)
    assert not TxAttempt.objects.filter(status=AttemptStatus.DROPPED).exists()
    assert not ChainTransaction.objects.filter(last_error__icontains="nonce").exists()
    assert TxAttempt.objects.count() == 300  # one version each: nothing was re-signed


@pytest.mark.parametrize("failpoint", ["after_sign", "after_broadcast"])
def test_worker_killed_with_the_pool_gives_exactly_one_transaction_per_intent(
    pool, contracts, isolated_broker, worker_factory, failpoint
):
    w3 = get_web3()
    start = {a: w3.eth.get_transaction_count(a, "pending") for a in pool}
    crashing = worker_factory(
        f"pool-crash-{failpoint}",
        pool="solo",
        concurrency=1,
        extra_env={"REDIS_URL": isolated_broker, "LEDGERBRIDGE_FAILPOINTS": failpoint, **POOL_WORKER_ENV},
    )
    loan_ids = [unique_loan_id("PCRASH") for _ in range(12)]
    with transaction.atomic():  # one commit, one kick: the worker dies in its first lane's batch
        rows = [enqueue_store_loan(loan_id) for loan_id in loan_ids]
    assert len({row.signer for row in rows}) > 1
    wait_until(lambda: not crashing.running(), timeout=60, what="the worker to die at the failpoint")

    signed = list(ChainTransaction.objects.filter(status=TxStatus.SIGNED))
    assert signed, "the worker died holding signed rows"
    assert len({row.signer for row in signed}) == 1, "it died inside one lane's batch"
    lane = signed[0].signer
    on_chain = w3.eth.get_transaction_count(lane, "latest") - start[lane]
    assert on_chain == (len(signed) if failpoint == "after_broadcast" else 0)

    worker_factory(f"pool-healthy-{failpoint}", extra_env={"REDIS_URL": isolated_broker, **POOL_WORKER_ENV})
    with override_settings(OUTBOX_REBROADCAST_SECONDS=0):
        confirm_until_all_confirmed(len(rows), timeout=60, sweep=True)
    for row in signed:  # the stored bytes were broadcast (again), never re-signed
        assert TxAttempt.objects.filter(transaction=row).count() == 1
    for loan_id in loan_ids:
        assert len(loan_stored_logs(w3, contracts["LoanRegistry"], loan_id)) == 1, loan_id
    _assert_lanes_contiguous(rows, start, w3)
    assert not TxAttempt.objects.filter(status=AttemptStatus.DROPPED).exists()
