"""The API clients the issuance tests act through: an issuer and a compliance officer."""

from __future__ import annotations

import pytest


@pytest.fixture
def issuer(auth_client):
    return auth_client("issuer")


@pytest.fixture
def officer(auth_client):
    return auth_client("compliance")
