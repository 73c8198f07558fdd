"""API tokens can be revoked: refresh tokens rotate (the used one is blacklisted), logout blacklists
one, and a password change or a deactivation, wherever it is made, ends every session of the user,
access tokens included (their token generation is no longer the user's)."""

from __future__ import annotations

import pytest
from django.contrib.auth.management.commands import changepassword
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from accounts import services
from accounts.models import User

pytestmark = pytest.mark.django_db

TOKEN = "/api/auth/token/"
REFRESH = "/api/auth/token/refresh/"
LOGOUT = "/api/auth/logout/"
ME = "/api/auth/me/"
NEW_PASSWORD = "a-brand-new-pass-77"


def sign_in(username: str, password: str) -> dict:
    response = APIClient().post(TOKEN, {"username": username, "password": password})
    assert response.status_code == 200, response.content
    return response.json()


def me(access: str):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client.get(ME)


def refresh(token: str):
    return APIClient().post(REFRESH, {"refresh": token})


def assert_refused(response, code: str | None = None) -> None:
    assert response.status_code == 401, response.content
    if code is not None:
        assert response.json()["code"] == code, response.json()


def test_refresh_rotates_and_a_used_refresh_token_is_refused(make_user):
    user, password = make_user("investor")
    tokens = sign_in(user.username, password)
    rotated = refresh(tokens["refresh"])
    assert rotated.status_code == 200
    assert set(rotated.json()) == {"access", "refresh"} and rotated.json()["refresh"] != tokens["refresh"]
    assert_refused(refresh(tokens["refresh"]), "token_not_valid")  # blacklisted by the rotation
    assert me(rotated.json()["access"]).status_code == 200
    assert refresh(rotated.json()["refresh"]).status_code == 200


def test_logout_blacklists_the_refresh_token(make_user):
    user, password = make_user("investor")
    session, other_session = sign_in(user.username, password), sign_in(user.username, password)
    response = APIClient().post(LOGOUT, {"refresh": session["refresh"]})
    assert response.status_code == 205 and response.content == b""
    assert_refused(refresh(session["refresh"]), "token_not_valid")
    assert_refused(APIClient().post(LOGOUT, {"refresh": session["refresh"]}), "token_not_valid")
    assert refresh(other_session["refresh"]).status_code == 200  # one session ends, not the others
    assert APIClient().post(LOGOUT, {}).status_code == 400
    assert_refused(APIClient().post(LOGOUT, {"refresh": "not-a-token"}))


def _superuser_client(make_user) -> Client:
    admin, _ = make_user("operator")
    admin.is_superuser = True
    admin.save()
    client = Client()
    client.force_login(admin)
    return client


def _change_in_admin_user_form(user, make_user, password):
    response = _superuser_client(make_user).post(
        f"/admin/accounts/user/{user.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302, response.content


def _change_own_password_in_admin(user, make_user, password):
    user.is_staff = True
    user.save()
    client = Client()
    assert client.login(username=user.username, password=password)
    response = client.post(
        "/admin/password_change/",
        {"old_password": password, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302, response.content


def _change_with_the_changepassword_command(user, make_user, password, monkeypatch):
    monkeypatch.setattr(changepassword.Command, "_get_pass", lambda self, prompt="": NEW_PASSWORD)
    call_command("changepassword", user.username, stdout=open("/dev/null", "w"))  # noqa: SIM115


def _change_in_code(user, make_user, password):
    user = User.objects.get(pk=user.pk)
    user.set_password(NEW_PASSWORD)
    user.save()


@pytest.mark.parametrize(
    "change",
    [
        _change_in_admin_user_form,
        _change_own_password_in_admin,
        _change_with_the_changepassword_command,
        _change_in_code,
    ],
    ids=["admin-user-form", "admin-own-password", "changepassword-command", "set_password-and-save"],
)
def test_a_password_change_revokes_every_token(make_user, change, monkeypatch):
    user, password = make_user("investor")
    sessions = [sign_in(user.username, password) for _ in range(2)]
    if change is _change_with_the_changepassword_command:
        change(user, make_user, password, monkeypatch)
    else:
        change(user, make_user, password)
    for session in sessions:
        assert_refused(me(session["access"]), "token_revoked")  # access tokens stop at once
        assert_refused(refresh(session["refresh"]))
    assert APIClient().post(TOKEN, {"username": user.username, "password": password}).status_code == 401
    fresh = sign_in(user.username, NEW_PASSWORD)
    assert me(fresh["access"]).status_code == 200
    assert refresh(fresh["refresh"]).status_code == 200


def test_deactivation_revokes_every_token_for_good(make_user):
    user, password = make_user("investor")
    session = sign_in(user.username, password)
    user.is_active = False
    user.save()
    assert_refused(me(session["access"]))
    assert_refused(refresh(session["refresh"]))
    # Reactivated, the account signs in again; the tokens from before stay dead.
    user.is_active = True
    user.save()
    assert_refused(me(session["access"]), "token_revoked")
    assert_refused(refresh(session["refresh"]))
    assert me(sign_in(user.username, password)["access"]).status_code == 200


def test_revocation_also_stops_tokens_minted_without_the_generation_claim(make_user):
    """Tokens issued before this release carry no generation (nor an outstanding-token row)."""
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
    from rest_framework_simplejwt.tokens import RefreshToken

    user, _ = make_user("investor")
    legacy = RefreshToken.for_user(user)
    OutstandingToken.objects.filter(jti=legacy["jti"]).delete()  # as if issued before the blacklist
    assert me(str(legacy.access_token)).status_code == 200
    services.revoke_tokens(user=user, reason="test")
    assert_refused(me(str(legacy.access_token)), "token_revoked")
    assert_refused(refresh(str(legacy)), "token_revoked")


def test_signing_in_and_other_saves_do_not_revoke(make_user):
    user, password = make_user("investor")
    session = sign_in(user.username, password)
    sign_in(user.username, password)  # updates last_login
    user = User.objects.get(pk=user.pk)
    user.email = "renamed@example.test"
    user.save()
    assert me(session["access"]).status_code == 200
    assert refresh(session["refresh"]).status_code == 200
    assert User.objects.get(pk=user.pk).token_generation == 0


def test_expired_refresh_tokens_are_forgotten_by_the_nightly_task(make_user):
    from datetime import UTC, datetime

    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

    from accounts.tasks import flush_expired_tokens

    user, password = make_user("investor")
    expired, live = sign_in(user.username, password), sign_in(user.username, password)
    rows = OutstandingToken.objects.filter(user=user)
    long_ago = datetime(2000, 1, 1, tzinfo=UTC)  # expired whatever the clock says
    rows.filter(token=expired["refresh"]).update(expires_at=long_ago)
    flush_expired_tokens()
    assert list(rows.values_list("token", flat=True)) == [live["refresh"]]
    assert refresh(live["refresh"]).status_code == 200
