"""Optional Sentry (core/sentry.py): an event carrying a configured secret leaves the process
redacted, exactly as a log line would. No network: the hook is called directly, and a whole
capture goes through an in-memory transport."""

from __future__ import annotations

import json

import pytest
import sentry_sdk
from django.conf import settings
from sentry_sdk.transport import Transport

from core.log_format import REDACTED, secret_values
from core.sentry import before_send, init_sentry

API_KEY = "k3y-0f-th3-rpc-pr0v1der-5ecret"
NODE_URL = f"https://polygon-rpc.example.net/v2/{API_KEY}?apikey=another-{API_KEY}"


@pytest.fixture
def node_url_with_an_api_key(settings):
    settings.CHAIN_RPC_URL = NODE_URL
    secret_values.cache_clear()
    yield NODE_URL
    secret_values.cache_clear()


def _signer_key() -> str:
    key = settings.SIGNER_PRIVATE_KEY.reveal()
    assert key, "the test settings configure a signer key"
    return key


def test_before_send_redacts_every_string_of_the_event(node_url_with_an_api_key):
    key = _signer_key()
    event = {
        "message": f"signing with {key} failed",
        "exception": {
            "values": [
                {"type": "RpcError", "value": f"POST {NODE_URL} answered 503", "stacktrace": {"frames": []}}
            ]
        },
        "breadcrumbs": {"values": [{"category": "rpc", "message": f"retrying {NODE_URL}", "data": {"n": 2}}]},
        "extra": {"raw": key.removeprefix("0x").upper(), "nested": [{"url": NODE_URL}, ("tuple", key)]},
        "tags": {"node": NODE_URL},
        "level": "error",
    }
    cleaned = before_send(event, {})
    text = json.dumps(cleaned)
    assert key.removeprefix("0x").lower() not in text.lower()
    assert API_KEY not in text
    assert REDACTED in cleaned["message"] and REDACTED in cleaned["tags"]["node"]
    assert cleaned["level"] == "error" and cleaned["breadcrumbs"]["values"][0]["data"] == {"n": 2}


class _Captured(Transport):
    def __init__(self, options=None):
        super().__init__(options)
        self.envelopes: list = []

    def capture_envelope(self, envelope) -> None:
        self.envelopes.append(envelope)


def test_a_captured_exception_reaches_the_transport_redacted(node_url_with_an_api_key):
    key = _signer_key()
    transport = _Captured()
    previous = sentry_sdk.get_client()  # the run's own (disabled) client, restored afterwards
    assert init_sentry(
        dsn="https://public@sentry.example.invalid/1",
        environment="test",
        transport=transport,
        integrations=[],
        default_integrations=False,
        auto_enabling_integrations=False,
    )
    try:
        try:
            raise RuntimeError(f"node {NODE_URL} refused a tx signed by {key}")
        except RuntimeError as exc:
            sentry_sdk.capture_exception(exc)
        sentry_sdk.flush(timeout=5)
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.get_global_scope().set_client(previous)
    assert transport.envelopes, "the event reached the transport"
    payload = b"".join(
        item.payload.get_bytes() for envelope in transport.envelopes for item in envelope.items
    )
    text = payload.decode()
    assert "RuntimeError" in text and REDACTED in text
    assert key.removeprefix("0x").lower() not in text.lower()
    assert API_KEY not in text
    event = json.loads(transport.envelopes[0].items[0].payload.get_bytes())
    assert "user" not in event or not event["user"].get("ip_address")  # send_default_pii=False


def test_without_a_dsn_sentry_stays_off():
    assert init_sentry(dsn="", environment="test") is False
