"""A bearer token's bytes are verified once per process and remembered until the token expires; the
expiry is checked on every request, the user row is still read on every request, and nothing that
did not verify is ever remembered."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts import authentication
from accounts.authentication import _VerifiedTokens
from accounts.models import User
from tests.support.users import jwt_client

pytestmark = pytest.mark.django_db

CREDENTIALS = "/api/credentials/"


@pytest.fixture
def tokens(monkeypatch):
    """A fresh cache with a clock the test moves, in place of the process's."""
    clock = {"now": 1_000.0}
    cache = _VerifiedTokens(size=3, clock=lambda: clock["now"])
    monkeypatch.setattr(authentication, "verified_tokens", cache)
    return cache, clock


@pytest.fixture
def decodes(monkeypatch):
    """How many times simplejwt decoded (verified) a token."""
    calls = []
    original = TokenBackend.decode

    def counting(self, token, verify=True):
        calls.append(token)
        return original(self, token, verify)

    monkeypatch.setattr(TokenBackend, "decode", counting)
    return calls


def _bearer(token) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_a_token_is_verified_once_and_its_user_row_read_every_time(make_user, decodes, tokens):
    cache, _clock = tokens
    user, _ = make_user("operator")
    client = jwt_client(user)
    for _ in range(3):
        assert client.get(CREDENTIALS).status_code == 200
    assert len(decodes) == 1
    assert len(cache.tokens) == 1
    User.objects.filter(pk=user.pk).update(is_active=False)  # the row is still read each time
    assert client.get(CREDENTIALS).status_code == 401


def test_a_remembered_token_is_verified_again_from_its_expiry(make_user, tokens, decodes):
    cache, clock = tokens
    user, _ = make_user("operator")
    token = AccessToken.for_user(user)
    raw = str(token).encode()
    client = _bearer(token)
    clock["now"] = token["exp"] - 1
    assert client.get(CREDENTIALS).status_code == 200
    assert client.get(CREDENTIALS).status_code == 200
    assert len(decodes) == 1
    clock["now"] = token["exp"]  # simplejwt: expired when exp <= now (LEEWAY 0)
    assert cache.get(raw) is None and raw not in cache.tokens
    # Not served from memory: verified again (the real clock still finds it valid, so it answers).
    assert client.get(CREDENTIALS).status_code == 200
    assert len(decodes) == 2


def test_an_expired_token_is_never_remembered_and_a_forged_one_never_matches(make_user, tokens):
    cache, _clock = tokens
    user, _ = make_user("operator")
    expired = AccessToken.for_user(user)
    expired.set_exp(lifetime=-AccessToken.lifetime)
    assert _bearer(expired).get(CREDENTIALS).status_code == 401
    good = AccessToken.for_user(user)
    assert _bearer(good).get(CREDENTIALS).status_code == 200
    header, payload, signature = str(good).split(".")
    forged = f"{header}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    response = _bearer(forged).get(CREDENTIALS)
    assert response.status_code == 401
    assert list(cache.tokens) == [str(good).encode()]


def test_the_cache_is_bounded_first_in_first_out(make_user, tokens):
    cache, _clock = tokens
    user, _ = make_user("operator")
    issued = [AccessToken.for_user(user) for _ in range(4)]
    for token in issued:
        assert _bearer(token).get(CREDENTIALS).status_code == 200
    assert list(cache.tokens) == [str(t).encode() for t in issued[1:]]


def test_blacklistable_tokens_are_never_remembered(make_user):
    cache = _VerifiedTokens()
    user, _ = make_user("operator")
    refresh = RefreshToken.for_user(user)
    cache.remember(b"refresh", refresh)
    assert cache.tokens == {}
    no_exp = AccessToken.for_user(user)
    del no_exp["exp"]
    cache.remember(b"no-exp", no_exp)
    assert cache.tokens == {}
