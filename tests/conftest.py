"""Session-wide real services: anvil (snapshot/revert per test), a Celery worker process, Redis."""

from __future__ import annotations

import os
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlparse

import pytest
import redis as redis_lib
from django.conf import settings
from rest_framework.test import APIClient

from core.redis import get_redis
from devtools.devnode import AnvilNode
from devtools.processes import ManagedProcess, celery_worker_argv, wait_until
from tests.support.users import PASSWORD, create_user, jwt_client

LOG_DIR = Path(settings.BASE_DIR) / "var" / "test-logs"
# Every password any test sets or uses to unlock a keystore, for the log-secret check at the end.
SECRETS_USED: set[str] = set()
SESSION_LOG_START: dict[str, float] = {}


def pytest_sessionstart(session) -> None:
    """Where this run's lines begin in the shared log file (other runs may have written before)."""
    log_file = Path(os.environ["LOG_FILE"])
    SESSION_LOG_START["offset"] = log_file.stat().st_size if log_file.exists() else 0
    SESSION_LOG_START["time"] = time.time()


@pytest.hookimpl(trylast=True)  # after pytest-django has ordered the tests by database use
def pytest_collection_modifyitems(session, config, items) -> None:
    """Tests marked `last` run after everything else (they inspect what the whole run left behind)."""
    items.sort(key=lambda item: item.get_closest_marker("last") is not None)


@pytest.fixture(scope="session", autouse=True)
def _record_secrets_used():
    """Remember every raw password set on a user and every keystore password tried."""
    from django.contrib.auth.base_user import AbstractBaseUser
    from eth_account import Account

    set_password = AbstractBaseUser.set_password
    decrypt = Account.decrypt  # a staticmethod

    def recording_set_password(self, raw_password):
        if raw_password:
            SECRETS_USED.add(raw_password)
        return set_password(self, raw_password)

    def recording_decrypt(keyfile_json, password):
        if password:
            SECRETS_USED.add(password if isinstance(password, str) else password.decode())
        return decrypt(keyfile_json, password)

    AbstractBaseUser.set_password = recording_set_password
    Account.decrypt = staticmethod(recording_decrypt)
    yield
    AbstractBaseUser.set_password = set_password
    Account.decrypt = staticmethod(decrypt)


@pytest.fixture(scope="session", autouse=True)
def _clean_redis():
    """Each run starts from an empty Redis test database (no stale tasks, locks or caches)."""
    get_redis().flushdb()
    yield


SESSION_HISTORICAL_STATES = 200_000


@pytest.fixture(scope="session")
def anvil_node():
    """One anvil node for the session, on the port CHAIN_RPC_URL names."""
    port = urlparse(settings.CHAIN_RPC_URL).port
    node = AnvilNode(
        port=port,
        chain_id=settings.CHAIN_ID,
        log_path=LOG_DIR / f"anvil-{port}.log",  # `make test`'s shards each run a node
        # Every block the session ever mines keeps its state, so a reorg or historical read down to
        # the snapshot base works however late a test runs (a full run mines some thousands).
        historical_states=SESSION_HISTORICAL_STATES,
    )
    node.start()
    yield node
    node.stop()


@pytest.fixture(scope="session")
def deployed_suite(anvil_node):
    """The contract suite, deployed once per session before any test snapshot is taken."""
    from blockchain.chain.client import build_web3
    from blockchain.chain.signer import get_signer
    from contracts.deployment import deploy_suite_onchain

    return deploy_suite_onchain(w3=build_web3(anvil_node.url), signer=get_signer())


@pytest.fixture
def chain(anvil_node, deployed_suite):
    """The anvil node (suite deployed), with every change a test makes reverted afterwards."""
    snapshot = anvil_node.snapshot()
    yield anvil_node
    anvil_node.set_automine(True)
    assert anvil_node.revert(snapshot), "evm_revert failed: the next test would see this test's chain state"


@pytest.fixture
def contracts(chain, deployed_suite, db):
    """The session's deployed suite recorded in this test's database: {name: address}."""
    from contracts.deployment import record_suite
    from wallets.balances import forget_certificates_contract

    record_suite(chain_id=settings.CHAIN_ID, deployed=deployed_suite)
    # Balances remember the certificates' address for a minute: an earlier test's own deployment,
    # reverted with its snapshot, must not be read here (its code is gone: an empty eth_call answer).
    forget_certificates_contract()
    return {d.name: d.address for d in deployed_suite}


def _database_url_for(settings_dict: dict) -> str:
    user = quote(settings_dict.get("USER") or "")
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{quote(password)}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or "5432"
    return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"


def start_worker(
    *, name: str, extra_env: dict[str, str] | None = None, pool: str = "prefork", concurrency: int = 2
) -> ManagedProcess:
    """A real `celery worker` process against the test database (and the test Redis unless
    `extra_env` says otherwise). Tests that use one must commit their data (`transactional_db`),
    since the worker is another process with its own connection. With another REDIS_URL, swap
    this process's broker first (`isolated_broker`) so the start-up ping reaches the worker."""
    from django.db import connection

    from config.celery import app

    node_name = f"{name}-{uuid.uuid4().hex[:8]}@localhost"
    env = {**os.environ, "DATABASE_URL": _database_url_for(connection.settings_dict), **(extra_env or {})}
    worker = ManagedProcess(
        name,
        celery_worker_argv(node_name=node_name, concurrency=concurrency, pool=pool, quiet_cluster=True),
        env=env,
        cwd=settings.BASE_DIR,
        log_path=LOG_DIR / f"{node_name.split('@')[0]}.log",
    ).start()
    try:
        wait_until(
            lambda: bool(app.control.ping(destination=[node_name], timeout=1.0)) or not worker.running(),
            timeout=60,
            what=f"the Celery worker {name} to answer a ping",
        )
    except TimeoutError:
        worker.stop()
        raise RuntimeError(f"Celery worker {name} did not start:\n" + worker.log_tail()) from None
    if not worker.running():
        raise RuntimeError(f"Celery worker {name} exited:\n" + worker.log_tail())
    return worker


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker):
    """One real Celery worker for the session."""
    worker = start_worker(name="test-worker")
    yield worker
    worker.stop()


@pytest.fixture
def worker_factory(django_db_setup):
    """Start extra worker processes for one test; all are stopped after it."""
    started: list[ManagedProcess] = []

    def make(name: str = "extra-worker", **kwargs) -> ManagedProcess:
        worker = start_worker(name=name, **kwargs)
        started.append(worker)
        return worker

    yield make
    for worker in started:
        worker.stop()


@contextmanager
def celery_broker(url: str):
    """Point this process's Celery app at another broker for a while (publishing and control)."""
    from config.celery import app

    def reset() -> None:
        from kombu import pools

        if app._pool is not None:
            app._pool.force_close_all()
        app._pool = None
        app.amqp._producer_pool = None
        pools.reset()  # kombu's process-wide producer pools, keyed by connection

    previous = app.conf.broker_url
    app.conf.broker_url = url
    reset()
    try:
        yield url
    finally:
        app.conf.broker_url = previous
        reset()


def redis_url_with_db(url: str, db: int) -> str:
    """The same Redis server as `url`, another database."""
    parts = urlparse(url)
    return parts._replace(path=f"/{db}").geturl()


@pytest.fixture
def isolated_broker():
    """A Redis database of its own as the broker, so only the workers this test starts (with
    REDIS_URL=the yielded URL) consume what it publishes; the session worker never sees it."""
    url = redis_url_with_db(settings.REDIS_URL, settings.TEST_ISOLATED_REDIS_DB)
    client = redis_lib.Redis.from_url(url)
    client.flushdb()
    with celery_broker(url):
        yield url
    client.flushdb()


@pytest.fixture
def health_client(settings) -> APIClient:
    """A monitor presenting HEALTH_TOKEN: /healthz answers it with every check's details."""
    from core.secrets import Secret

    settings.HEALTH_TOKEN = Secret("health-token-of-the-test-monitor")
    return APIClient(HTTP_X_HEALTH_TOKEN="health-token-of-the-test-monitor")


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def make_user(db):
    """Create a user of a role; returns (user, password)."""
    counter = iter(range(1, 10_000))

    def make(role: str = "investor", *, username: str | None = None, password: str = PASSWORD):
        return create_user(role, username=username or f"{role}{next(counter)}", password=password)

    return make


@pytest.fixture
def auth_client(make_user):
    """An APIClient authenticated (JWT) as a new user of the given role."""

    def make(role: str = "investor", **kwargs):
        user, _password = make_user(role, **kwargs)
        return jwt_client(user)

    return make
