"""GET /healthz: 200 when DB, broker and chain are up and as configured; 503 with reasons when not."""

import pytest

from config.celery import app
from devtools.processes import free_port

pytestmark = pytest.mark.django_db


def test_healthy_when_every_part_answers(health_client, chain):
    response = health_client.get("/healthz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] and body["checks"]["database"]["vendor"] == "postgresql"
    assert body["checks"]["broker"]["ok"] and body["checks"]["broker"]["transport"] == "redis"
    assert body["checks"]["chain"] == {**body["checks"]["chain"], "ok": True, "chain_id": 31337}
    assert body["checks"]["chain"]["head"] == int(chain.rpc("eth_blockNumber"), 16)


def test_unreachable_chain_is_503_with_a_reason(health_client, chain, settings):
    settings.CHAIN_RPC_URL = f"http://127.0.0.1:{free_port()}"
    response = health_client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["checks"]["chain"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True
    assert any(reason.startswith("chain:") for reason in body["reasons"])


def test_wrong_chain_id_is_503(health_client, chain, settings):
    settings.CHAIN_ID = 137
    body = health_client.get("/healthz").json()
    assert body["status"] == "unavailable"
    assert "node reports chain id 31337, configured 137" in body["checks"]["chain"]["error"]


def test_unreachable_broker_is_503(health_client, chain, monkeypatch):
    monkeypatch.setattr(app.conf, "broker_url", f"redis://127.0.0.1:{free_port()}/0")
    response = health_client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False
    assert response.json()["checks"]["chain"]["ok"] is True
