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


@pytest.mark.parametrize("claim", ["not-a-number", 10**12])
def test_a_token_naming_no_user_is_refused(claim):
    token = AccessToken()
    token["user_id"] = claim
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = client.get(CREDENTIALS)
    assert response.status_code == 401
