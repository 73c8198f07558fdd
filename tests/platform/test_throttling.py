"""Rate limits: login and register per IP, anonymous verification per IP, writes per user; a refused
request is a 429 with Retry-After and the JSON error body. Counted in the real Redis."""

from __future__ import annotations

import itertools

import pytest
from django.test import Client, override_settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from core.throttling import parse_rate

pytestmark = pytest.mark.django_db

_addresses = itertools.count(1)


def fresh_ip() -> str:
    """A client address no other test has used, so windows never carry over between tests."""
    n = next(_addresses)
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def rates(**scopes: str | None) -> override_settings:
    base = {"login": None, "register": None, "verify_anon": None, "writes": None}
    return override_settings(THROTTLE_RATES={**base, **scopes})


def assert_throttled(response, *, window: int = 60) -> None:
    assert response.status_code == 429, response.content
    assert 1 <= int(response["Retry-After"]) <= window
    body = response.json()
    assert body["code"] == "throttled" and body["retry_after"] == int(response["Retry-After"])


def test_rates_parse():
    assert parse_rate("10/min") == (10, 60)
    assert parse_rate("5/hour") == (5, 3600)
    assert parse_rate(None) is None
    with pytest.raises(ValueError):
        parse_rate("5/fortnight")


@rates(login="3/min")
def test_login_is_limited_per_ip(make_user):
    user, password = make_user("investor")
    ip, other_ip = fresh_ip(), fresh_ip()
    client = APIClient(REMOTE_ADDR=ip)
    for _ in range(3):
        assert (
            client.post(
                "/api/auth/token/", {"username": user.username, "password": "nope-nope-1"}
            ).status_code
            == 401
        )
    # The 4th guess is refused even with the right password: the limit is on attempts.
    assert_throttled(client.post("/api/auth/token/", {"username": user.username, "password": password}))
    assert_throttled(client.post("/api/auth/token/refresh/", {"refresh": "x"}))
    # Another address is unaffected; a forged X-Forwarded-For does not make a new client (no proxy trusted).
    assert (
        APIClient(REMOTE_ADDR=other_ip)
        .post("/api/auth/token/", {"username": user.username, "password": password})
        .status_code
        == 200
    )
    assert_throttled(
        client.post(
            "/api/auth/token/",
            {"username": user.username, "password": password},
            HTTP_X_FORWARDED_FOR=fresh_ip(),
        )
    )


@rates(login="2/min")
@override_settings(NUM_PROXIES=1)
def test_behind_one_proxy_the_forwarded_client_address_is_counted(make_user):
    user, password = make_user("investor")
    nginx = APIClient(REMOTE_ADDR="127.0.0.1")
    client_a, client_b = fresh_ip(), fresh_ip()
    body = {"username": user.username, "password": password}
    for _ in range(2):
        assert nginx.post("/api/auth/token/", body, HTTP_X_FORWARDED_FOR=client_a).status_code == 200
    assert_throttled(nginx.post("/api/auth/token/", body, HTTP_X_FORWARDED_FOR=f"{client_b}, {client_a}"))
    assert nginx.post("/api/auth/token/", body, HTTP_X_FORWARDED_FOR=client_b).status_code == 200


@rates(register="2/hour")
def test_registration_is_limited_per_ip():
    client = APIClient(REMOTE_ADDR=fresh_ip())

    def register(n: int):
        return client.post(
            "/api/auth/register/",
            {
                "username": f"rl-{n}",
                "email": f"rl{n}@example.test",
                "password": "a-long-unusual-pass-42",
                "role": "investor",
            },
        )

    assert register(1).status_code == 201
    assert register(2).status_code == 201
    assert_throttled(register(3), window=3600)
    from accounts.models import User

    assert not User.objects.filter(username="rl-3").exists()


@pytest.mark.chain
@rates(verify_anon="3/min")
def test_anonymous_verification_is_limited_per_ip_on_the_api_and_the_page(contracts):
    client = APIClient(REMOTE_ADDR=fresh_ip())
    body = {"fingerprint": "0x" + "ab" * 32}
    for _ in range(2):
        assert client.post("/api/blockchain/verify/", body, format="json").status_code == 200
    assert client.get("/api/blockchain/status/999999/").status_code in (200, 404)
    assert_throttled(client.post("/api/blockchain/verify/", body, format="json"))
    assert_throttled(client.get("/api/blockchain/status/999999/"))

    page_ip = fresh_ip()
    browser = Client(REMOTE_ADDR=page_ip)
    for _ in range(3):
        assert browser.post("/verify/", {"document": "{}"}).status_code == 200
    refused = browser.post("/verify/", {"document": "{}"})
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert b"Too many verifications" in refused.content
    assert browser.get("/verify/").status_code == 200  # reading the page is not a verification


@rates(writes="2/min")
def test_writes_are_limited_per_user_and_reads_are_not(make_user):
    def client_of(user) -> APIClient:
        client = APIClient(REMOTE_ADDR="10.255.255.1")  # same address: the limit is per user
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
        return client

    first, _ = make_user("investor")
    second, _ = make_user("investor")
    busy = client_of(first)
    for country in ("DE", "FR"):
        assert busy.patch("/api/auth/me/profile/", {"country": country}, format="json").status_code == 200
    assert_throttled(busy.patch("/api/auth/me/profile/", {"country": "IT"}, format="json"))
    first.investor_profile.refresh_from_db()
    assert first.investor_profile.country == "FR"  # the refused write changed nothing
    for _ in range(5):
        assert busy.get("/api/auth/me/").status_code == 200
    assert (
        client_of(second).patch("/api/auth/me/profile/", {"country": "IT"}, format="json").status_code == 200
    )


@rates(login="1/min")
def test_redis_outage_does_not_lock_everyone_out(make_user, monkeypatch):
    user, password = make_user("investor")

    def down(*_args, **_kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr("core.throttling.hit", down)
    client = APIClient(REMOTE_ADDR=fresh_ip())
    for _ in range(3):
        assert (
            client.post("/api/auth/token/", {"username": user.username, "password": password}).status_code
            == 200
        )
