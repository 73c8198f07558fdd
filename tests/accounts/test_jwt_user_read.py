"""Every bearer-token request reads its user row fresh, once, so a role change, a deactivation or a
revocation counts from the next request with nothing cached to invalidate; a token whose user claim
names nobody (or is no id at all) is a 401, never a server error."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from accounts import services
from accounts.models import User
from tests.support.users import jwt_client

pytestmark = pytest.mark.django_db

CREDENTIALS = "/api/credentials/"


def test_one_statement_reads_the_user_and_it_is_counted_like_any_other(make_user):
    user, _ = make_user("operator")
    client = jwt_client(user)
    client.get(CREDENTIALS)  # warm: compiled statement, connection
    with CaptureQueriesContext(connection) as queries:
        assert client.get(CREDENTIALS).status_code == 200
    user_reads = [q["sql"] for q in queries.captured_queries if 'FROM "accounts_user"' in q["sql"]]
    assert len(user_reads) == 1, user_reads


def test_changes_to_the_row_count_from_the_next_request(make_user):
    user, _ = make_user("operator")
    client = jwt_client(user)
    assert client.get(CREDENTIALS).status_code == 200
    # A role change made straight in the table (no signal) is seen at once: nothing is cached.
    User.objects.filter(pk=user.pk).update(role="investor")
    assert client.get("/api/auth/me/").json()["role"] == "investor"
    User.objects.filter(pk=user.pk).update(is_active=False)  # no save signal, no revocation
    assert client.get(CREDENTIALS).status_code == 401
    User.objects.filter(pk=user.pk).update(is_active=True)
    assert client.get(CREDENTIALS).status_code == 200
    services.revoke_tokens(user=User.objects.get(pk=user.pk), reason="test")
    response = client.get(CREDENTIALS)
    assert response.status_code == 401 and response.json()["code"] == "token_revoked"


@pytest.mark.parametrize(
    "claim, code",
    [("not-a-number", "user_not_found"), (10**12, "authentication_failed"), (2**70, "authentication_failed")],
)
def test_a_token_naming_no_user_is_refused(claim, code):
    token = AccessToken()
    token["user_id"] = claim
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = client.get(CREDENTIALS)
    assert response.status_code == 401
    assert response.json() == {"code": code, "message": "User not found"}  # as before the prepared read


def test_the_user_read_is_one_prepared_statement_without_the_password_hash(make_user):
    """The row is read by a statement built once per process (not a queryset compiled per request),
    and a request never reads the password hash: it stays deferred on the request's user."""
    user, _ = make_user("operator")
    client = jwt_client(user)
    client.get(CREDENTIALS)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(CREDENTIALS).status_code == 200
    (user_read,) = [q["sql"] for q in queries.captured_queries if 'FROM "accounts_user"' in q["sql"]]
    assert '"password"' not in user_read
    assert user_read.startswith('SELECT "id", ') and user_read.endswith(f'WHERE "id" = {user.pk}')


def test_a_user_read_for_a_request_saves_without_losing_the_password(make_user):
    from accounts.authentication import read_user

    user, password = make_user("operator")
    read = read_user(user.pk)
    assert read.get_deferred_fields() == {"password"}
    read.first_name = "Renamed"
    read.save()  # only the loaded fields are written
    stored = User.objects.get(pk=user.pk)
    assert stored.first_name == "Renamed" and stored.check_password(password)
    assert stored.token_generation == user.token_generation  # no revocation either
    assert read.password == stored.password  # read on first use


def test_an_inactive_user_is_refused_with_simplejwts_answer(make_user):
    user, _ = make_user("operator")
    client = jwt_client(user)
    User.objects.filter(pk=user.pk).update(is_active=False)
    response = client.get(CREDENTIALS)
    assert response.status_code == 401
    # simplejwt's answer, as before the prepared read
    assert response.json() == {"code": "authentication_failed", "message": "User is inactive"}
