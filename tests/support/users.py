"""Users of every role, created through the accounts service (as sign-up and operators do)."""

from __future__ import annotations

import itertools

from accounts import services as account_services

PASSWORD = "correct-horse-battery-9"
_numbers = itertools.count(1)


def create_user(role: str = "investor", *, username: str | None = None, password: str = PASSWORD):
    """A new active user of `role`; returns (user, password)."""
    name = username or f"{role}{next(_numbers)}"
    user = account_services.create_user(
        username=name, role=role, email=f"{name}@example.test", password=password, validate=False
    )
    return user, password


def jwt_client(user):
    """An APIClient authenticated as `user` with a fresh access token."""
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import RefreshToken

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    client.user = user
    return client
