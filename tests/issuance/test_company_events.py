"""Partners hear a company's KYB approval when it is decided and its registration when the chain
confirms it — and the registration's undoing (an IssuerRevoked on chain) as `company.updated`."""

from __future__ import annotations

import pytest

from blockchain.indexing.indexer import Indexer
from tests.support.chain import send
from tests.support.issuance import approved_company
from tests.support.webhook_receiver import partner_endpoint

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


def test_kyb_approval_then_registration_then_a_revocation_on_chain(contracts, auth_client, make_user):
    events = ["company.kyb_approved", "company.registered", "company.updated"]
    with partner_endpoint(auth_client("operator"), events) as partner:
        officer, _ = make_user("compliance")
        owner, _ = make_user("issuer")
        company = approved_company(owner=owner, officer=officer)  # approve, then registerIssuer settles
        got = dict(partner.events())  # deliveries are not ordered: both went out in one batch
        assert sorted(got) == ["company.kyb_approved", "company.registered"]
        assert got["company.kyb_approved"]["id"] == got["company.registered"]["id"] == company.pk
        assert got["company.kyb_approved"]["kyb_status"] == "approved"
        assert got["company.registered"]["onchain"]["registered"] is True

        send(contracts["IssuerRegistry"], "IssuerRegistry", "revokeIssuer", company.wallet_address)
        Indexer().run()
        (revoked,) = partner.events()[2:]
        assert revoked[0] == "company.updated" and revoked[1]["onchain"]["status"] == "revoked"
