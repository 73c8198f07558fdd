"""A path under /api/ that no endpoint matches answers a JSON 404 (API.md: every error body is
JSON), in DEBUG as without it, whatever the client accepts; a GET missing only its trailing slash is
still redirected to the endpoint."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize("path", ["/api/nope/", "/api/campaigns/3/history/", "/api/nope"])
@pytest.mark.parametrize("accept", ["application/json", "text/html"])
def test_an_unknown_api_path_is_a_json_404(api_client, settings, debug, path, accept):
    settings.DEBUG = debug
    response = api_client.get(path, HTTP_ACCEPT=accept)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == "not_found" and path in body["message"] and "GET /api/" in body["message"]


def test_a_post_to_an_unknown_api_path_is_a_json_404(api_client, settings):
    settings.DEBUG = True
    response = api_client.post("/api/nope/", {"x": 1}, format="json")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_a_missing_trailing_slash_still_redirects_to_the_endpoint(api_client):
    response = api_client.get("/api/campaigns?status=active")
    assert response.status_code == 301 and response["Location"] == "/api/campaigns/?status=active"
    refused = api_client.post("/api/campaigns", {}, format="json")
    assert refused.status_code == 404 and "/api/campaigns/" in refused.json()["message"]


def test_pages_outside_the_api_keep_their_own_404(client, settings):
    settings.DEBUG = False
    response = client.get("/verify/nope/")
    assert response.status_code == 404 and not response["Content-Type"].startswith("application/json")


def test_a_post_with_a_session_cookie_to_an_unknown_path_is_the_json_404_not_a_csrf_page(make_user):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(make_user("operator")[0])
    response = browser.post("/api/blockchain/transactions/0.5/rebroadcast/", {})
    assert response.status_code == 404 and response.json()["code"] == "not_found"
