"""Session-wide real services: anvil (snapshot/revert per test), a Celery worker process, Redis."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path
from urllib.parse import quote, urlparse

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accounts import services as account_services
from blockchain.devnode import AnvilNode
from config.processes import ManagedProcess, wait_until
from config.redis import get_redis

LOG_DIR = Path(settings.BASE_DIR) / "var" / "test-logs"


@pytest.fixture(scope="session", autouse=True)
def _clean_redis():
    """Each run starts from an empty Redis test database (no stale tasks, locks or caches)."""
    get_redis().flushdb()
    yield


@pytest.fixture(scope="session")
def anvil_node():
    """One anvil node for the session, on the port CHAIN_RPC_URL names."""
    port = urlparse(settings.CHAIN_RPC_URL).port
    node = AnvilNode(port=port, chain_id=settings.CHAIN_ID, log_path=LOG_DIR / "anvil.log")
    node.start()
    yield node
    node.stop()


@pytest.fixture
def chain(anvil_node):
    """The anvil node, with every change a test makes reverted afterwards."""
    snapshot = anvil_node.snapshot()
    yield anvil_node
    anvil_node.set_automine(True)
    assert anvil_node.revert(snapshot), "evm_revert failed: the next test would see this test's chain state"


def _database_url_for(settings_dict: dict) -> str:
    user = quote(settings_dict.get("USER") or "")
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{quote(password)}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or "5432"
    return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker):
    """A real `celery worker` process against the test database and the test Redis.

    Tests that use it must commit their data (`transactional_db`), since the worker is another
    process with its own connection.
    """
    from django.db import connection

    from config.celery import app

    node_name = f"test-{uuid.uuid4().hex[:8]}@localhost"
    env = {**os.environ, "DATABASE_URL": _database_url_for(connection.settings_dict)}
    worker = ManagedProcess(
        "celery-worker",
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            "default,chain-send,chain-index",
            "-c",
            "2",
            "-n",
            node_name,
            "--without-gossip",
            "--without-mingle",
            "-l",
            "INFO",
        ],
        env=env,
        cwd=settings.BASE_DIR,
        log_path=LOG_DIR / "celery-worker.log",
    ).start()
    try:
        wait_until(
            lambda: bool(app.control.ping(destination=[node_name], timeout=1.0)),
            timeout=60,
            what="the Celery worker to answer a ping",
        )
    except TimeoutError:
        worker.stop()
        raise RuntimeError("Celery worker did not start:\n" + worker.log_tail()) from None
    yield worker
    worker.stop()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def make_user(db):
    """Create a user of a role; returns (user, password)."""
    counter = iter(range(1, 10_000))

    def make(
        role: str = "investor", *, username: str | None = None, password: str = "correct-horse-battery-9"
    ):
        name = username or f"{role}{next(counter)}"
        user = account_services.create_user(
            username=name, role=role, email=f"{name}@example.test", password=password, validate=False
        )
        return user, password

    return make


@pytest.fixture
def auth_client(make_user):
    """An APIClient authenticated (JWT) as a new user of the given role."""

    def make(role: str = "investor", **kwargs):
        user, _password = make_user(role, **kwargs)
        client = APIClient()
        from rest_framework_simplejwt.tokens import RefreshToken

        client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
        client.user = user
        return client

    return make
