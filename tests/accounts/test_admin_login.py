"""The admin sign-in is limited like the API's (per client IP and per username typed, sliding
windows), answers a 429 page saying when to retry, and can require a one-time password (django-otp)
of staff: ADMIN_REQUIRE_OTP, on by default in production."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings
from django_otp.plugins.otp_static.models import StaticDevice

from tests.platform.test_settings import _manage, production_env  # noqa: F401  (a fixture)
from tests.support.throttle_clock import fresh_ip, limiter_clock, rates

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock():
    with limiter_clock() as fake:
        yield fake


LOGIN = "/admin/login/?next=/admin/"
# The production rates (config/settings.py), which the test environment raises.
PRODUCTION_RATES = {"login": "10/min", "login_account": "30/hour"}


def sign_in(client: Client, username: str, password: str, **extra: str):
    return client.post(LOGIN, {"username": username, "password": password, "next": "/admin/", **extra})


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def assert_refused_page(response, *, retry_after: int) -> None:
    assert response.status_code == 429
    assert response["Content-Type"].startswith("text/html")
    assert response["Retry-After"] == str(retry_after)
    assert b"Too many sign-in attempts" in response.content
    assert f'Try again in <span id="retry-after">{retry_after}</span> s'.encode() in response.content


@rates(**PRODUCTION_RATES)
def test_sixty_wrong_passwords_then_the_right_one_is_refused(make_user, clock):
    """Issue #20 item 3: a compliance account logged in after 60 wrong passwords in a row."""
    officer, password = make_user("compliance")
    client = Client(REMOTE_ADDR=fresh_ip())
    answers = [sign_in(client, officer.username, f"wrong-guess-{n}").status_code for n in range(60)]
    assert answers == [200] * 10 + [429] * 50  # the form's error for the first ten, then refused
    assert_refused_page(sign_in(client, officer.username, password), retry_after=60)
    assert not signed_in(client)
    assert client.get("/admin/").status_code == 302
    clock.advance(60)  # the window has passed: the refused attempts were never counted
    assert sign_in(client, officer.username, password).status_code == 302
    assert client.get("/admin/").status_code == 200


@rates(**PRODUCTION_RATES)
def test_wrong_passwords_for_one_username_from_many_addresses_are_refused(make_user, clock):
    officer, password = make_user("compliance", username="Officer-Kay")
    for n, typed in enumerate(["officer-kay", "OFFICER-KAY", "Officer-Kay"] * 10):
        assert sign_in(Client(REMOTE_ADDR=fresh_ip()), typed, f"wrong-guess-{n}").status_code == 200
        clock.advance(60)
    # 30 attempts in the last 30 minutes: the account's hour is used up, from whatever address.
    client = Client(REMOTE_ADDR=fresh_ip())
    assert_refused_page(sign_in(client, officer.username, password), retry_after=3600 - 30 * 60)
    assert not signed_in(client)
    other, other_password = make_user("operator")
    assert sign_in(Client(REMOTE_ADDR=fresh_ip()), other.username, other_password).status_code == 302


@rates(login="1/min", login_account="1/hour")
def test_loading_the_sign_in_page_is_not_an_attempt(make_user, clock):
    officer, password = make_user("compliance")
    client = Client(REMOTE_ADDR=fresh_ip())
    for _ in range(5):
        assert client.get(LOGIN).status_code == 200
    assert sign_in(client, officer.username, password).status_code == 302


@override_settings(ADMIN_REQUIRE_OTP=True)
def test_with_otp_required_staff_need_a_one_time_password(make_user):
    officer, password = make_user("compliance")
    client = Client(REMOTE_ADDR=fresh_ip())
    refused = sign_in(client, officer.username, password)
    assert refused.status_code == 200 and not signed_in(client)
    assert b"otp_token" in refused.content  # the form asks for the one-time password

    device = StaticDevice.objects.create(user=officer, name="recovery codes")
    device.token_set.create(token="kq3x7w2m")
    otp = {"otp_device": device.persistent_id, "otp_token": "kq3x7w2m"}
    signed = sign_in(client, officer.username, password, **otp)
    assert signed.status_code == 302 and signed_in(client)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/dashboard/").status_code == 200
    # A recovery token works once: the same one again is refused (the first failure, so not
    # django-otp's back-off after failures either).
    again = Client(REMOTE_ADDR=fresh_ip())
    assert sign_in(again, officer.username, password, **otp).status_code == 200
    assert not signed_in(again)

    # A session signed in by password alone (as before OTP was required) is not staff enough.
    password_only = Client()
    password_only.force_login(officer)
    assert password_only.get("/admin/").status_code == 302
    assert password_only.get("/admin/dashboard/").status_code == 302


@override_settings(ADMIN_REQUIRE_OTP=False)
def test_without_otp_required_the_password_is_enough(make_user):
    officer, password = make_user("compliance")
    client = Client(REMOTE_ADDR=fresh_ip())
    assert sign_in(client, officer.username, password).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_otp_is_required_by_default_in_production_only(production_env):  # noqa: F811
    show = "from django.conf import settings as s; print(s.ADMIN_REQUIRE_OTP)"
    production = _manage(["shell", "-c", show], **production_env)
    assert production.stdout.strip().splitlines()[-1] == "True", production.stderr
    development = _manage(["shell", "-c", show], DJANGO_ENV="development")
    assert development.stdout.strip().splitlines()[-1] == "False", development.stderr
    opted_out = _manage(["shell", "-c", show], **production_env, ADMIN_REQUIRE_OTP="false")
    assert opted_out.stdout.strip().splitlines()[-1] == "False", opted_out.stderr
