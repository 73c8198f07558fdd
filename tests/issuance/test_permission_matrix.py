"""Every issuer, campaign and loan endpoint × every role (and anonymous): who gets through.

"Through" means neither 401 nor 403; what happens next (200, 404 for another's object, 409 for a
state rule) is for the other tests. Objects belong to the matrix's own issuer.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import services as account_services
from campaigns.models import Investment
from issuers.models import Company, KybStatus, RegistrationStatus
from tests.issuance.helpers import CID, campaign_body, company_body, new_wallet
from tests.loans.helpers import TERMS, make_loan, new_loan_id

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

ROLES = ["anonymous", "investor", "issuer", "institution", "compliance", "operator"]
ANYONE = set(ROLES)
ISSUER, COMPLIANCE, OPERATOR = {"issuer"}, {"compliance"}, {"operator"}
INVESTOR, INSTITUTION = {"investor"}, {"institution"}
SIGNED_IN = ANYONE - {"anonymous"}

# (method, path, body, roles that get through)
ENDPOINTS = [
    ("get", "/api/issuers/", None, ISSUER | COMPLIANCE | OPERATOR),
    ("post", "/api/issuers/", "company", ISSUER),
    ("get", "/api/issuers/{company}/", None, ISSUER | COMPLIANCE | OPERATOR),
    ("patch", "/api/issuers/{company}/", {"legal_name": "Renamed"}, ISSUER),
    ("post", "/api/issuers/{company}/review/", {"decision": "reject", "notes": "n"}, COMPLIANCE),
    ("post", "/api/issuers/{company}/register/", None, COMPLIANCE | OPERATOR),
    ("get", "/api/issuers/{company}/reviews/", None, ISSUER | COMPLIANCE | OPERATOR),
    ("get", "/api/campaigns/", None, ANYONE),
    ("post", "/api/campaigns/", "campaign", ISSUER),
    ("get", "/api/campaigns/{campaign}/", None, ANYONE),
    ("patch", "/api/campaigns/{campaign}/", {"title": "Renamed"}, ISSUER),
    ("post", "/api/campaigns/{campaign}/submit/", None, ISSUER),
    ("post", "/api/campaigns/{campaign}/review/", {"decision": "approve"}, COMPLIANCE),
    ("post", "/api/campaigns/{campaign}/deploy/", None, COMPLIANCE | OPERATOR),
    ("post", "/api/campaigns/{campaign}/close/", None, ISSUER | COMPLIANCE),
    ("post", "/api/campaigns/{campaign}/cancel/", {"reason": "r"}, ISSUER | COMPLIANCE),
    ("get", "/api/campaigns/{campaign}/reviews/", None, ISSUER | COMPLIANCE | OPERATOR),
    ("get", "/api/loans/", None, COMPLIANCE | OPERATOR),
    ("post", "/api/loans/", "loan", OPERATOR),
    ("get", "/api/loans/{loan}/", None, COMPLIANCE | OPERATOR),
    ("patch", "/api/loans/{loan}/", {"notes": "n"}, OPERATOR),
    ("post", "/api/loans/{loan}/approve/", None, OPERATOR),
    ("post", "/api/loans/{loan}/blockchain/store/", None, OPERATOR),
    ("get", "/api/loans/{loan}/blockchain/status/", None, COMPLIANCE | OPERATOR),
    ("get", "/api/loans/{loan}/blockchain/verify/", None, COMPLIANCE | OPERATOR),
    ("post", "/api/loans/{loan}/blockchain/mark-repaid/", {}, OPERATOR),
    ("post", "/api/loans/{loan}/mark-defaulted/", {}, OPERATOR),
    ("get", "/api/loans/{loan}/history/", None, COMPLIANCE | OPERATOR),
    ("post", "/api/campaigns/{campaign}/investments/", {"amount": "10"}, INVESTOR),
    ("get", "/api/investments/", None, INVESTOR | COMPLIANCE | OPERATOR),
    ("get", "/api/investments/{investment}/", None, INVESTOR | COMPLIANCE | OPERATOR),
    ("post", "/api/investments/{investment}/cancel/", None, INVESTOR),
    ("post", "/api/investments/{investment}/review/", {"decision": "release"}, COMPLIANCE),
    ("get", "/api/certificates/", None, INVESTOR | COMPLIANCE | OPERATOR),
    ("get", "/api/auth/me/profile/", None, INVESTOR),
    ("patch", "/api/auth/me/profile/", {"country": "DE"}, INVESTOR),
    ("get", "/api/institutions/", None, ANYONE),
    ("post", "/api/institutions/", "institution", OPERATOR),
    ("get", "/api/credentials/", None, SIGNED_IN),
    ("post", "/api/credentials/issue/", {}, INSTITUTION | OPERATOR),
    ("post", "/api/credentials/batch/", {}, INSTITUTION | OPERATOR),
    ("post", "/api/blockchain/verify/", {"fingerprint": "0x" + "00" * 32}, ANYONE),
    ("get", "/api/blockchain/status/1/", None, ANYONE),
    ("get", "/api/blockchain/sync/", None, COMPLIANCE | OPERATOR),
    ("get", "/api/wallets/0x90F79bf6EB2c4f870365E785982E1f101E93b906/balances/", None, OPERATOR),
    ("get", "/api/blockchain/transactions/", None, OPERATOR),
]


def client_for(role: str, *, user=None) -> APIClient:
    client = APIClient()
    if role != "anonymous":
        user = user or account_services.create_user(
            username=f"m-{role}", role=role, password=None, email=f"m-{role}@example.test"
        )
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.fixture
def objects(contracts):
    owner = account_services.create_user(
        username="m-issuer", role="issuer", password=None, email="mi@example.test"
    )
    company = Company.objects.create(
        owner=owner,
        legal_name="Matrix AG",
        registration_number="CHE-1",
        country="CH",
        wallet_address=new_wallet(),
        document_cid=CID,
        kyb_status=KybStatus.APPROVED,
        registration_status=RegistrationStatus.REGISTERED,
    )
    from campaigns.services import create_campaign

    start = timezone.now() + timedelta(hours=1)
    campaign = create_campaign(
        actor=owner,
        issuer=company,
        title="Matrix",
        goal="1000",
        hard_cap="2000",
        min_investment="10",
        share_price="1",
        starts_at=start,
        ends_at=start + timedelta(days=30),
    )
    investor = account_services.create_user(username="m-owner-inv", role="investor", password=None)
    Investment.objects.bulk_create(  # no post_save: a row to address, not a chain intent
        [
            Investment(
                campaign=campaign,
                investor=investor,
                investor_wallet=new_wallet(),
                amount=1,
                investment_ref="0x" + "11" * 32,
                status="held_for_review",
            )
        ]
    )
    return {
        "owner": owner,
        "company": company,
        "campaign": campaign,
        "loan": make_loan(),
        "investment": Investment.objects.get(),
    }


def _body(spec, objects):
    if spec == "company":
        return company_body()
    if spec == "campaign":
        return campaign_body(objects["company"].pk)
    if spec == "institution":
        return {"address": new_wallet(), "name": "Matrix Institute"}
    if spec == "loan":
        return {"loan_id": new_loan_id(), **TERMS}
    return spec


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("method", "path", "body", "allowed"), ENDPOINTS, ids=[f"{m} {p}" for m, p, *_ in ENDPOINTS]
)
def test_permission_matrix(objects, role, method, path, body, allowed):
    client = client_for(role, user=objects["owner"] if role == "issuer" else None)
    url = path.format(
        company=objects["company"].pk,
        campaign=objects["campaign"].pk,
        loan=objects["loan"].loan_id,
        investment=objects["investment"].pk,
    )
    response = getattr(client, method)(url, _body(body, objects), format="json")
    if role in allowed:
        assert response.status_code not in (401, 403), (role, method, url, response.json())
        assert response.status_code < 500
    else:
        expected = 401 if role == "anonymous" else 403
        assert response.status_code == expected, (role, method, url, response.status_code)
