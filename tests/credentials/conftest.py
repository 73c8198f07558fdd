"""Fixtures the credential suites share: an operator's client and a synced KYC-provider institution."""

from __future__ import annotations

import pytest
from eth_account import Account
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from credentials.models import Institution
from tests.support.outbox import settle_outbox


@pytest.fixture
def operator(auth_client):
    return auth_client("operator")


@pytest.fixture
def institution(contracts, operator, make_user) -> tuple[Institution, object]:
    """A KYC-provider institution synced on chain, and an API client of one of its members."""
    address = Account.create().address
    response = operator.post(
        "/api/institutions/",
        {"address": address, "name": "Trust Bank KYC", "metadata_uri": "ipfs://meta", "kyc_provider": True},
        format="json",
    )
    assert response.status_code == 202 and response.json()["sync_status"] == "pending"
    settle_outbox()
    row = Institution.objects.get(address=address)
    assert row.sync_status == "synced"
    member, _ = make_user("institution")
    row.members.add(member)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(member).access_token}")
    return row, client
