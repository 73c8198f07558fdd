"""Internals never reach anonymous callers: /healthz answers a load balancer with its status only,
public 503s say what is unavailable and never why in code terms (the node URL's path can carry a
hosted provider's API key), and logs redact that path and the key decrypted from the keystore.
/metrics and the API docs are closed when DJANGO_ENV=production unless a token, an allowed IP or a
signed-in user opens them."""

from __future__ import annotations

import json

import pytest
from eth_account import Account

from blockchain.chain.client import get_web3
from blockchain.chain.signer import load_signer_account
from core.log_format import REDACTED, describe_error, redact, secret_values
from core.secrets import Secret
from devtools.processes import free_port

pytestmark = pytest.mark.django_db

API_KEY = "k3yOfAHostedProvider0123456789"


@pytest.fixture
def node_down_at_a_secret_url(settings):
    """The node URL carries an API key in its path and query, and nothing listens there."""
    settings.CHAIN_RPC_URL = f"http://127.0.0.1:{free_port()}/v3/{API_KEY}?apikey={API_KEY}X"
    secret_values.cache_clear()
    get_web3.cache_clear()  # the process-wide client was built for the working node
    yield settings.CHAIN_RPC_URL
    secret_values.cache_clear()
    get_web3.cache_clear()


def leaks(body: str, url: str) -> list[str]:
    host = url.split("/v3/")[0]
    return [s for s in (API_KEY, host, "ConnectionError", "Traceback", "HTTPConnectionPool") if s in body]


def test_anonymous_healthz_gets_the_status_only(api_client, node_down_at_a_secret_url):
    response = api_client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}


def test_an_operator_gets_the_details_with_the_node_url_redacted(auth_client, node_down_at_a_secret_url):
    response = auth_client("operator").get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["chain"]["ok"] is False and body["checks"]["database"]["ok"] is True
    assert API_KEY not in response.content.decode()


def test_a_revoked_operator_token_gets_the_status_only(make_user, node_down_at_a_secret_url):
    from accounts.services import revoke_tokens
    from tests.support.users import jwt_client

    operator, _ = make_user("operator")
    client = jwt_client(operator)
    assert "checks" in client.get("/healthz").json()
    revoke_tokens(user=operator, reason="password changed")
    assert client.get("/healthz").json() == {"status": "unavailable"}


def test_other_roles_get_the_status_only(auth_client, node_down_at_a_secret_url):
    assert auth_client("investor").get("/healthz").json() == {"status": "unavailable"}


def test_the_health_token_opens_the_details(api_client, settings, node_down_at_a_secret_url):
    settings.HEALTH_TOKEN = Secret("health-token-of-the-monitor")
    assert "checks" in api_client.get("/healthz", HTTP_X_HEALTH_TOKEN="health-token-of-the-monitor").json()
    assert api_client.get("/healthz", HTTP_X_HEALTH_TOKEN="a-guess").json() == {"status": "unavailable"}


@pytest.mark.chain
def test_public_verification_503_names_no_internals(contracts, api_client, node_down_at_a_secret_url):
    response = api_client.post("/api/blockchain/verify/", {"document": {"never": "issued"}}, format="json")
    assert response.status_code == 503
    body = response.content.decode()
    assert response.json()["code"] == "chain_unavailable"
    assert not leaks(body, node_down_at_a_secret_url), body


@pytest.mark.chain
def test_a_balance_read_503_names_no_internals(contracts, auth_client, node_down_at_a_secret_url):
    address = Account.create().address
    response = auth_client("operator").get(f"/api/wallets/{address}/balances/?verify=1")
    assert response.status_code == 503
    assert not leaks(response.content.decode(), node_down_at_a_secret_url)


def test_logs_and_stored_errors_redact_the_node_urls_path_and_query(node_down_at_a_secret_url):
    line = f"HTTPConnectionPool: Max retries exceeded with url: {node_down_at_a_secret_url}"
    assert API_KEY not in redact(line) and REDACTED in redact(line)
    assert API_KEY not in describe_error(ConnectionError(line))


def test_the_key_decrypted_from_the_keystore_is_redacted(tmp_path):
    account = Account.create()
    keystore = tmp_path / "signer.json"
    keystore.write_text(
        json.dumps(Account.encrypt(account.key, "pw-of-the-keystore", kdf="pbkdf2", iterations=2))
    )
    loaded = load_signer_account(keystore_path=str(keystore), password="pw-of-the-keystore")
    assert loaded.address == account.address
    for spelling in (account.key.hex(), "0x" + account.key.hex(), account.key.hex().upper()):
        assert redact(f"careless f-string {spelling}") == f"careless f-string {REDACTED}"


def test_metrics_need_the_scrape_token_when_closed(api_client, settings):
    settings.METRICS_PUBLIC = False
    settings.METRICS_TOKEN = Secret("scrape-token-of-prometheus")
    assert api_client.get("/metrics").status_code == 401
    assert api_client.get("/metrics", HTTP_AUTHORIZATION="Bearer a-guess").status_code == 401
    allowed = api_client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token-of-prometheus")
    assert allowed.status_code == 200 and b"http_requests_total" in allowed.content


def test_metrics_from_an_allowed_ip(api_client, settings):
    settings.METRICS_PUBLIC = False
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    assert api_client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert api_client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 401


def test_docs_need_a_signed_in_user_when_closed(api_client, auth_client, settings):
    settings.API_DOCS_PUBLIC = False
    assert api_client.get("/api/schema/").status_code == 401
    page = api_client.get("/api/docs/")
    assert page.status_code == 302 and page["Location"].startswith("/admin/login/")
    assert auth_client("investor").get("/api/schema/").status_code == 200
