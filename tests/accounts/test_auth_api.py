"""Register, JWT token + refresh, /me: the happy paths and every kind of bad input (4xx JSON, never 500)."""

import pytest

pytestmark = pytest.mark.django_db

REGISTER = "/api/auth/register/"
TOKEN = "/api/auth/token/"
REFRESH = "/api/auth/token/refresh/"
ME = "/api/auth/me/"


def register(client, **overrides):
    body = {
        "username": "alice",
        "email": "alice@example.test",
        "password": "a-long-unusual-pass-42",
        "role": "investor",
    }
    body.update(overrides)
    return client.post(REGISTER, body, format="json")


def assert_error(response, status, code=None):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body.get("message"), str) and body["message"]
    assert isinstance(body.get("code"), str) and body["code"]
    if code:
        assert body["code"] == code, body
    return body


def test_register_creates_an_investor_and_never_returns_the_password(api_client):
    response = register(api_client)
    assert response.status_code == 201
    body = response.json()
    assert (
        body["username"] == "alice" and body["role"] == "investor" and body["email"] == "alice@example.test"
    )
    assert "password" not in body


def test_register_as_issuer(api_client):
    assert (
        register(api_client, username="acme", email="ops@acme.test", role="issuer").json()["role"] == "issuer"
    )


@pytest.mark.parametrize("role", ["compliance", "operator", "institution", "admin", ""])
def test_register_refuses_privileged_or_unknown_roles(api_client, role):
    body = assert_error(register(api_client, role=role), 400)
    assert "role" in body["errors"]


def test_register_refuses_weak_password_with_per_field_message(api_client):
    body = assert_error(register(api_client, password="password12"), 400)
    assert "password" in body["errors"]


def test_register_refuses_password_similar_to_username(api_client):
    body = assert_error(register(api_client, username="margaretthatcher", password="margaretthatcher1"), 400)
    assert "password" in body["errors"]


def test_register_refuses_duplicate_username_and_email_case_insensitively(api_client):
    assert register(api_client).status_code == 201
    body = assert_error(register(api_client, username="ALICE", email="other@example.test"), 400)
    assert body["errors"]["username"]
    body = assert_error(register(api_client, username="bob", email="Alice@Example.test"), 400)
    assert body["errors"]["email"]


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"username": "x"},
        {
            "username": "bad name!",
            "email": "a@b.test",
            "password": "a-long-unusual-pass-42",
            "role": "investor",
        },
        {
            "username": "carol",
            "email": "not-an-email",
            "password": "a-long-unusual-pass-42",
            "role": "investor",
        },
        {"username": ["list"], "email": {"a": 1}, "password": 12, "role": None},
        {
            "username": "c" * 151,
            "email": "c@example.test",
            "password": "a-long-unusual-pass-42",
            "role": "investor",
        },
    ],
)
def test_register_bad_input_is_a_400_with_field_errors(api_client, payload):
    body = assert_error(api_client.post(REGISTER, payload, format="json"), 400)
    assert body["errors"]


@pytest.mark.parametrize(
    "raw, content_type",
    [
        ("{not json", "application/json"),
        ("[1, 2]", "application/json"),
        ("", "application/json"),
        ("a=b", "text/plain"),
    ],
)
def test_register_malformed_bodies_are_4xx_json(api_client, raw, content_type):
    response = api_client.generic("POST", REGISTER, raw, content_type=content_type)
    assert 400 <= response.status_code < 500
    assert_error(response, response.status_code)


def test_token_pair_refresh_and_me(api_client):
    register(api_client)
    tokens = api_client.post(
        TOKEN, {"username": "alice", "password": "a-long-unusual-pass-42"}, format="json"
    )
    assert tokens.status_code == 200
    access, refresh = tokens.json()["access"], tokens.json()["refresh"]

    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    me = api_client.get(ME).json()
    assert me["username"] == "alice" and me["role"] == "investor"
    assert me["wallet_address"] is None and me["wallet_verified"] is False
    assert me["kyc"] == {"status": "none", "credential_id": None, "expires_at": None}

    refreshed = api_client.post(REFRESH, {"refresh": refresh}, format="json")
    assert refreshed.status_code == 200
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {refreshed.json()['access']}")
    assert api_client.get(ME).status_code == 200


def test_token_wrong_password_is_401_json(api_client):
    register(api_client)
    assert_error(
        api_client.post(TOKEN, {"username": "alice", "password": "wrong-password-123"}, format="json"), 401
    )


def test_token_inactive_user_is_refused(api_client, make_user):
    user, password = make_user("investor", username="dormant")
    user.is_active = False
    user.save()
    assert_error(api_client.post(TOKEN, {"username": "dormant", "password": password}, format="json"), 401)


@pytest.mark.parametrize(
    "payload", [{}, {"username": "alice"}, {"password": "x"}, {"username": ["a"], "password": {}}]
)
def test_token_bad_input_is_400(api_client, payload):
    assert_error(api_client.post(TOKEN, payload, format="json"), 400)


@pytest.mark.parametrize("refresh", ["garbage", "", "a.b.c"])
def test_refresh_with_bad_token_is_4xx_json(api_client, refresh):
    response = api_client.post(REFRESH, {"refresh": refresh}, format="json")
    assert response.status_code in (400, 401)
    assert_error(response, response.status_code)


def test_access_token_cannot_be_used_as_refresh(api_client):
    register(api_client)
    access = api_client.post(
        TOKEN, {"username": "alice", "password": "a-long-unusual-pass-42"}, format="json"
    ).json()["access"]
    assert_error(api_client.post(REFRESH, {"refresh": access}, format="json"), 401)


def test_me_requires_authentication(api_client):
    assert_error(api_client.get(ME), 401)
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-jwt")
    assert_error(api_client.get(ME), 401)


def test_unknown_api_path_is_json_404(api_client):
    response = api_client.get("/api/does-not-exist/")
    assert_error(response, 404, "not_found")


def test_pages_for_people_answer_their_errors_in_html(make_user):
    """The admin is HTML: a staff member without the right group sees a 403 page, not JSON."""
    from django.test import Client

    user, password = make_user("issuer")
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client = Client()
    assert client.login(username=user.username, password=password)
    denied = client.get("/admin/dashboard/")
    assert denied.status_code == 403 and denied["Content-Type"].startswith("text/html")
    missing = client.get("/admin/no-such-page/")
    assert missing.status_code == 404 and missing["Content-Type"].startswith("text/html")
    assert client.get("/api/no-such-page/")["Content-Type"] == "application/json"
