"""Bodies are limited in Django itself, not only by nginx: a body over MAX_REQUEST_BODY_BYTES is a
413 before it is read (the public verifier accepted a 60 MiB upload), and the verifier refuses a
document over VERIFY_MAX_DOCUMENT_BYTES with a clear message instead of truncating it."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

pytestmark = pytest.mark.django_db


def test_an_upload_over_the_body_limit_is_413_before_it_is_read(client, settings):
    big = SimpleUploadedFile("huge.json", b"{" + b" " * (settings.MAX_REQUEST_BODY_BYTES + 1) + b"}")
    response = client.post("/verify/", {"file": big})
    assert response.status_code == 413
    assert "larger than 5 MiB" in response.content.decode()


def test_an_api_body_over_the_limit_is_413_in_the_error_envelope(api_client, settings):
    body = json.dumps({"document": {"pad": "x" * (settings.MAX_REQUEST_BODY_BYTES + 1)}})
    response = api_client.post("/api/blockchain/verify/", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"


def test_the_verifier_refuses_a_document_over_its_own_limit(client, settings):
    document = json.dumps({"pad": "x" * settings.VERIFY_MAX_DOCUMENT_BYTES}).encode()
    response = client.post("/verify/", {"file": SimpleUploadedFile("big.json", document)})
    assert response.status_code == 413
    assert "larger than 256 KiB" in response.content.decode()
    pasted = client.post("/verify/", {"document": document.decode()})
    assert pasted.status_code == 413


@pytest.mark.chain
def test_a_document_under_the_limits_is_verified(contracts, client):
    response = client.post("/verify/", {"file": SimpleUploadedFile("d.json", b'{"never": "issued"}')})
    assert response.status_code == 200
    assert 'data-outcome="' in response.content.decode()
