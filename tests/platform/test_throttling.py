"""Rate limits: sliding windows in the real Redis, with time moved by the test (core.throttling's
clock), never waited for. Login per IP and per account, register per IP, anonymous verification per
IP, writes per user; a refused request is a 429 with Retry-After and the JSON error body."""

from __future__ import annotations

import threading

import pytest
import redis
from django.test import Client, override_settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from core import throttling
from core.redis import connect
from core.throttling import Limit, acquire, parse_rate
from tests.support.throttle_clock import fresh_ip, limiter_clock, rates

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock():
    with limiter_clock() as fake:
        yield fake


def assert_throttled(response, retry_after: int | None = None) -> int:
    assert response.status_code == 429, response.content
    wait = int(response["Retry-After"])
    assert wait >= 1
    if retry_after is not None:
        assert wait == retry_after
    body = response.json()
    assert body["code"] == "throttled" and body["retry_after"] == wait
    return wait


def token(client: APIClient, username: str, password: str):
    return client.post("/api/auth/token/", {"username": username, "password": password})


def test_rates_parse():
    assert parse_rate("10/min") == (10, 60)
    assert parse_rate("5/hour") == (5, 3600)
    assert parse_rate(None) is None
    with pytest.raises(ValueError):
        parse_rate("5/fortnight")


@rates(login="3/min")
def test_login_is_limited_per_ip(make_user, clock):
    user, password = make_user("investor")
    ip, other_ip = fresh_ip(), fresh_ip()
    client = APIClient(REMOTE_ADDR=ip)
    for _ in range(3):
        assert token(client, user.username, "nope-nope-1").status_code == 401
        clock.advance(1)
    # The 4th guess is refused even with the right password: the limit is on attempts. The first of
    # the three leaves the window 60 s after it was made, 57 s from now.
    assert_throttled(token(client, user.username, password), retry_after=57)
    assert_throttled(client.post("/api/auth/token/refresh/", {"refresh": "x"}), retry_after=57)
    # Another address is unaffected; a forged X-Forwarded-For does not make a new client (no proxy trusted).
    assert token(APIClient(REMOTE_ADDR=other_ip), user.username, password).status_code == 200
    assert_throttled(
        client.post(
            "/api/auth/token/",
            {"username": user.username, "password": password},
            HTTP_X_FORWARDED_FOR=fresh_ip(),
        )
    )
    clock.advance(57)
    assert token(client, user.username, password).status_code == 200


@rates(login="3/min")
def test_a_burst_across_a_minute_boundary_is_refused(make_user, clock):
    """A fixed window lets 3 attempts at :59 and 3 more at :01 through (twice the rate within two
    seconds); a sliding window admits at most 3 in any 60 s."""
    user, _password = make_user("investor")
    client = APIClient(REMOTE_ADDR=fresh_ip())
    clock.advance(59)  # the clock starts on a whole minute: one second before the next
    for _ in range(3):
        assert token(client, user.username, "nope-nope-1").status_code == 401
    clock.advance(2)  # into the next minute
    for _ in range(3):
        assert_throttled(token(client, user.username, "nope-nope-1"), retry_after=58)
    # Room comes back when the attempts at :59 leave the window, 60 s after them; refused ones
    # were not counted.
    clock.advance(57)
    assert_throttled(token(client, user.username, "nope-nope-1"), retry_after=1)
    clock.advance(1)
    for _ in range(3):
        assert token(client, user.username, "nope-nope-1").status_code == 401
    assert_throttled(token(client, user.username, "nope-nope-1"), retry_after=60)


@rates(login=None, login_account="3/hour")
def test_login_is_limited_per_account_from_any_address_in_any_case(make_user, clock):
    user, password = make_user("investor", username="Alice-acct")
    for typed in ("alice-acct", "ALICE-ACCT", "Alice-acct"):
        assert token(APIClient(REMOTE_ADDR=fresh_ip()), typed, "nope-nope-1").status_code == 401
        clock.advance(10)
    # A fourth address, the right password: the account has had its attempts for the hour.
    assert_throttled(token(APIClient(REMOTE_ADDR=fresh_ip()), user.username, password), retry_after=3600 - 30)
    other, other_password = make_user("investor")
    assert token(APIClient(REMOTE_ADDR=fresh_ip()), other.username, other_password).status_code == 200
    # An unknown name is limited the same way: a refusal says nothing about whether the account exists.
    for _ in range(3):
        assert token(APIClient(REMOTE_ADDR=fresh_ip()), "nobody-here", "nope-nope-1").status_code == 401
    assert_throttled(token(APIClient(REMOTE_ADDR=fresh_ip()), "Nobody-Here", "nope-nope-1"))


@rates(login="2/min", login_account="1/hour")
def test_an_attempt_refused_by_one_limit_counts_in_neither(make_user, clock):
    first, _ = make_user("investor")
    second, _ = make_user("investor")
    third, _ = make_user("investor")
    client = APIClient(REMOTE_ADDR=fresh_ip())
    assert token(client, first.username, "nope-nope-1").status_code == 401
    assert_throttled(token(client, first.username, "nope-nope-1"))  # the account's limit
    assert token(client, second.username, "nope-nope-1").status_code == 401  # the IP had one attempt
    assert_throttled(token(client, third.username, "nope-nope-1"))  # now two: the IP's limit
    assert token(APIClient(REMOTE_ADDR=fresh_ip()), third.username, "nope-nope-1").status_code == 401


@rates(login=None, login_account="2/hour")
def test_refresh_is_limited_per_user_of_a_genuine_token(make_user, clock):
    user, _ = make_user("investor")
    refresh = str(RefreshToken.for_user(user))
    for _ in range(2):
        response = APIClient(REMOTE_ADDR=fresh_ip()).post("/api/auth/token/refresh/", {"refresh": refresh})
        assert response.status_code == 200, response.content
        refresh = response.json()["refresh"]
    assert_throttled(APIClient(REMOTE_ADDR=fresh_ip()).post("/api/auth/token/refresh/", {"refresh": refresh}))
    # Another user's refreshes are theirs; a forged token names no one (401, not counted against anyone).
    other, _ = make_user("investor")
    fresh = str(RefreshToken.for_user(other))
    assert (
        APIClient(REMOTE_ADDR=fresh_ip()).post("/api/auth/token/refresh/", {"refresh": fresh}).status_code
        == 200
    )


@rates(login="2/min")
@override_settings(NUM_PROXIES=1)
def test_behind_one_proxy_the_forwarded_client_address_is_counted(make_user, clock):
    user, password = make_user("investor")
    nginx = APIClient(REMOTE_ADDR="127.0.0.1")
    client_a, client_b = fresh_ip(), fresh_ip()
    body = {"username": user.username, "password": password}
    for _ in range(2):
        assert nginx.post("/api/auth/token/", body, HTTP_X_FORWARDED_FOR=client_a).status_code == 200
    assert_throttled(nginx.post("/api/auth/token/", body, HTTP_X_FORWARDED_FOR=f"{client_b}, {client_a}"))
    assert nginx.post("/api/auth/token/", body, HTTP_X_FORWARDED_FOR=client_b).status_code == 200


@rates(register="2/hour")
def test_registration_is_limited_per_ip(clock):
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
    clock.advance(600)
    assert register(2).status_code == 201
    assert_throttled(register(3), retry_after=3000)
    from accounts.models import User

    assert not User.objects.filter(username="rl-3").exists()
    clock.advance(3000)
    assert register(3).status_code == 201


@pytest.mark.chain
@rates(verify_anon="3/min")
def test_anonymous_verification_is_limited_per_ip_on_the_api_and_the_page(contracts, clock):
    client = APIClient(REMOTE_ADDR=fresh_ip())
    body = {"fingerprint": "0x" + "ab" * 32}
    for _ in range(2):
        assert client.post("/api/blockchain/verify/", body, format="json").status_code == 200
    assert client.get("/api/blockchain/status/999999/").status_code in (200, 404)
    assert_throttled(client.post("/api/blockchain/verify/", body, format="json"), retry_after=60)
    assert_throttled(client.get("/api/blockchain/status/999999/"), retry_after=60)

    page_ip = fresh_ip()
    browser = Client(REMOTE_ADDR=page_ip)
    for _ in range(3):
        assert browser.post("/verify/", {"document": "{}"}).status_code == 200
    clock.advance(20)
    refused = browser.post("/verify/", {"document": "{}"})
    assert refused.status_code == 429 and refused["Retry-After"] == "40"
    assert b"Too many verifications" in refused.content and b"try again in 40 s" in refused.content
    assert browser.get("/verify/").status_code == 200  # reading the page is not a verification


@rates(writes="2/min")
def test_writes_are_limited_per_user_and_reads_are_not(make_user, clock):
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


def test_concurrent_requests_never_exceed_the_limit(clock):
    """Many threads at the same instant against one key: the script admits exactly the limit."""
    limit = Limit(key=f"throttle-test:concurrent:{fresh_ip()}", count=5, period=60)
    admitted: list[bool] = []
    start = threading.Barrier(20)

    def attempt() -> None:
        start.wait()
        admitted.append(acquire([limit]) == 0)

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert admitted.count(True) == 5


@rates(login="1/min")
def test_redis_outage_does_not_lock_everyone_out(make_user, monkeypatch, clock):
    """With Redis unreachable (a real connection refused, from redis-py) sign-in still answers; the
    dead server is asked once, not by every request, until the pause is over."""
    user, password = make_user("investor")
    dead = connect("redis://127.0.0.1:1/0")
    monkeypatch.setattr("core.throttling.get_redis", lambda: dead)
    monkeypatch.setattr(throttling.UNCOUNTED, "until", 0.0)  # restored after the test
    attempts = []
    real_connect = redis.connection.Connection._connect
    monkeypatch.setattr(
        redis.connection.Connection,
        "_connect",
        lambda self: attempts.append(self.port) or real_connect(self),
    )
    client = APIClient(REMOTE_ADDR=fresh_ip())
    for _ in range(3):
        assert token(client, user.username, password).status_code == 200
    # One request met the outage and connected twice (core.redis's bounded retry; redis-py's own
    # default tried eleven times with backoff, about 4.6 s per request here).
    assert attempts == [1] * 2
    clock.advance(throttling.UNCOUNTED_PAUSE_SECONDS)
    assert token(client, user.username, password).status_code == 200
    assert attempts == [1] * 4  # after the pause the server is asked again


@override_settings(USES_REDIS=False)
def test_without_redis_the_cache_keeps_the_same_sliding_window(clock):
    """`make run` without Redis counts in Django's cache, with the same window (not atomically)."""
    limit = Limit(key=f"throttle-test:cache:{fresh_ip()}", count=2, period=60)
    assert acquire([limit]) == 0
    clock.advance(30)
    assert acquire([limit]) == 0
    assert acquire([limit]) == 30  # the first leaves the window 60 s after it came
    clock.advance(30)
    assert acquire([limit]) == 0
    assert acquire([limit]) == 30
