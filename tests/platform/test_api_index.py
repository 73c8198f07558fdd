"""`GET /api/`: the API's entry point, public and cacheable, pointing only at the API's own paths."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.urls import resolve

pytestmark = pytest.mark.django_db


def _urls(body: dict) -> list[str]:
    """Every URL the index gives, wherever it sits in the body."""
    urls = [body["health"], body["verifier_page"], *body["docs"].values()]
    urls += [url for key, url in body["auth"].items() if key != "scheme"]
    urls += [entry["url"] for entry in body["resources"].values()]
    return urls


def test_anyone_reads_the_index_and_caches_may_keep_it(api_client):
    response = api_client.get("/api/")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"public", "max-age=300"} <= cache_control
    body = response.json()
    assert {"campaigns", "investments", "issuers", "credentials", "loans", "institutions"} <= set(
        body["resources"]
    )
    assert body["resources"]["campaigns"] == {
        "url": "/api/campaigns/",
        "description": "Investment campaigns: draft, review, invest, close",
    }
    assert body["docs"] == {"openapi": "/api/schema/", "swagger_ui": "/api/docs/", "redoc": "/api/redoc/"}
    assert body["auth"]["token"] == "/api/auth/token/" and body["auth"]["me"] == "/api/auth/me/"


def test_every_url_in_the_index_is_one_of_the_apis_own_routes(api_client):
    for url in _urls(api_client.get("/api/").json()):
        assert url.startswith("/") and "//" not in url, url  # a path: no host, no scheme
        resolve(url)  # raises Resolver404 for a route that does not exist


def test_the_index_is_the_same_for_everyone_and_ignores_tokens(api_client, auth_client):
    anonymous = api_client.get("/api/").json()
    assert auth_client("operator").get("/api/").json() == anonymous
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    stale = api_client.get("/api/")
    assert stale.status_code == 200 and stale.json() == anonymous


def test_the_index_carries_no_secret_nor_internal_address(api_client):
    text = json.dumps(api_client.get("/api/").json())
    for value in (settings.SECRET_KEY, settings.CHAIN_RPC_URL, settings.DATABASES["default"]["NAME"]):
        assert value and value not in text
    assert "http" not in text and "127.0.0.1" not in text and "localhost" not in text


def test_an_unknown_query_parameter_is_refused_here_too(api_client):
    response = api_client.get("/api/", {"resources": "all"})
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_query_parameter" and response.json()["accepted"] == ["format"]
