"""Every endpoint under /api/ × every role (and anonymous): who gets through.

"Through" means neither 401 nor 403; what happens next (200, 400 for an empty body, 404 for another's
object, 409 for a state rule) is for the other tests. Objects belong to the matrix's own issuer and
institution. `test_the_matrix_covers_every_api_endpoint` fails when the URL conf has an endpoint (a
method on a route) with no row here: a new endpoint needs its row, with the roles API.md gives it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.urls import Resolver404, URLResolver, get_resolver, resolve
from django.utils import timezone
from eth_utils import keccak
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import services as account_services
from blockchain.outbox import enqueue as chain_services
from campaigns.models import Investment
from credentials.models import Credential, Institution, SyncStatus
from issuers.models import Company, KybStatus, RegistrationStatus
from tests.support.issuance import CID, campaign_body, company_body, new_wallet
from tests.support.loans import TERMS, make_loan, new_loan_id

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

ROLES = ["anonymous", "investor", "issuer", "institution", "compliance", "operator"]
ANYONE = set(ROLES)
ISSUER, COMPLIANCE, OPERATOR = {"issuer"}, {"compliance"}, {"operator"}
INVESTOR, INSTITUTION = {"investor"}, {"institution"}
SIGNED_IN = ANYONE - {"anonymous"}

# (method, path, body, roles that get through)
ENDPOINTS = [
    ("get", "/api/", None, ANYONE),  # the API index: public
    ("get", "/api/webhooks/endpoints/", None, OPERATOR),
    ("post", "/api/webhooks/endpoints/", "webhook_endpoint", OPERATOR),
    ("get", "/api/webhooks/endpoints/{webhook_endpoint}/", None, OPERATOR),
    ("patch", "/api/webhooks/endpoints/{webhook_endpoint}/", {"description": "ERP"}, OPERATOR),
    ("delete", "/api/webhooks/endpoints/{webhook_endpoint}/", None, OPERATOR),
    ("post", "/api/webhooks/endpoints/{webhook_endpoint}/rotate-secret/", None, OPERATOR),
    ("get", "/api/webhooks/deliveries/", None, OPERATOR),
    ("get", "/api/webhooks/deliveries/{webhook_delivery}/", None, OPERATOR),
    ("post", "/api/webhooks/deliveries/{webhook_delivery}/redeliver/", None, OPERATOR),
    ("get", "/api/webhooks/event-types/", None, OPERATOR),
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
    ("get", "/api/credentials/AAAAAAAAAAAAAAAAAAAAAA/proof/", None, ANYONE),  # by share id; ids: who may see
    ("get", "/api/blockchain/sync/", None, COMPLIANCE | OPERATOR),
    ("get", "/api/wallets/0x90F79bf6EB2c4f870365E785982E1f101E93b906/balances/", None, OPERATOR),
    ("get", "/api/blockchain/transactions/", None, OPERATOR),
    ("get", "/api/blockchain/transactions/{transaction}/", None, OPERATOR),
    ("post", "/api/blockchain/transactions/{transaction}/retry/", None, OPERATOR),
    ("post", "/api/blockchain/transactions/{transaction}/rebroadcast/", None, OPERATOR),
    # Empty bodies: a plain 400 for whoever asks; no account is created and nobody logs in.
    ("post", "/api/auth/register/", {}, ANYONE),
    ("post", "/api/auth/token/", {}, ANYONE),
    ("post", "/api/auth/token/refresh/", {}, ANYONE),
    ("post", "/api/auth/logout/", {}, ANYONE),
    ("get", "/api/auth/me/", None, SIGNED_IN),
    ("post", "/api/auth/wallet/challenge/", {}, SIGNED_IN),
    ("post", "/api/auth/wallet/verify/", {}, SIGNED_IN),
    ("get", "/api/institutions/{institution}/", None, ANYONE),
    # Members: an empty body is a 400 and an unknown member a 404 for the operator who gets through.
    ("get", "/api/institutions/{institution}/members/", None, OPERATOR),
    ("post", "/api/institutions/{institution}/members/", {}, OPERATOR),
    ("delete", "/api/institutions/{institution}/members/999999/", None, OPERATOR),
    # Visibility (institution's own, the subject, compliance and operators all) is the queryset's: 404.
    ("get", "/api/credentials/{credential}/", None, SIGNED_IN),
    # The matrix's institution user is a member of the credential's institution ("own"); pending: 409.
    ("post", "/api/credentials/{credential}/revoke/", {"reason": "r"}, INSTITUTION | OPERATOR),
    ("get", "/api/certificates/1/", None, INVESTOR | COMPLIANCE | OPERATOR),
    ("get", "/api/certificates/1/metadata.json", None, ANYONE),  # ERC-721 tokenURI target: public
    # Each role's user has a bound wallet; this is its own (the anonymous client gets a stranger's).
    ("get", "/api/wallets/{my_wallet}/balances/", None, SIGNED_IN),
]


def user_for(role: str, objects):
    """The role's user (the fixture's own for issuer, institution and investor), with a bound wallet
    as a signed EIP-4361 binding leaves it. None for anonymous."""
    if role == "anonymous":
        return None
    user = objects["users"].get(role) or account_services.create_user(
        username=f"m-{role}", role=role, password=None, email=f"m-{role}@example.test"
    )
    if not user.wallet_verified:
        user.wallet_address, user.wallet_verified = new_wallet(), True
        user.save(update_fields=["wallet_address", "wallet_verified"])
    return user


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
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
    institution_user = account_services.create_user(
        username="m-institution", role="institution", password=None, email="m-institution@example.test"
    )
    institution = Institution.objects.create(  # synced: no upsert intent
        address=new_wallet(), name="Matrix Institute", sync_status=SyncStatus.SYNCED
    )
    institution.members.add(institution_user)
    subject = account_services.create_user(
        username="m-investor", role="investor", password=None, email="m-investor@example.test"
    )
    subject.wallet_address, subject.wallet_verified = new_wallet(), True
    subject.save(update_fields=["wallet_address", "wallet_verified"])
    credential = Credential.objects.create(  # no document: no issuance intent
        credential_ref="0x" + "22" * 32,
        institution=institution,
        subject_wallet=subject.wallet_address,  # the matrix's investor is the subject
        credential_type="diploma",
        fingerprint="0x" + "33" * 32,
    )
    with transaction.atomic():
        outbox_row = chain_services.enqueue(  # queued: retry and rebroadcast answer 409
            kind="test.matrix",
            contract="LoanRegistry",
            function="storeLoan",
            args=["LN-matrix", keccak(text="LN-matrix"), TERMS["borrower_wallet"], TERMS["lender_wallet"]],
            idempotency_key="test:matrix",
        )
    from webhooks import services as webhook_services
    from webhooks.models import WebhookDelivery

    endpoint, _secret = webhook_services.create_endpoint(
        url="http://127.0.0.1:9/hooks", event_types=["loan.repaid"]
    )
    with transaction.atomic():
        webhook_services.announce("loan.repaid", data={"loan_id": "LN-matrix"})
    return {
        "webhook_endpoint": endpoint,
        "webhook_delivery": WebhookDelivery.objects.get(),
        "users": {"issuer": owner, "institution": institution_user, "investor": subject},
        "company": company,
        "campaign": campaign,
        "loan": make_loan(),
        "investment": Investment.objects.get(),
        "institution": institution,
        "credential": credential,
        "transaction": outbox_row,
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
    if spec == "webhook_endpoint":
        return {"url": "http://127.0.0.1:9/other", "event_types": ["loan.anchored"]}
    return spec


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("method", "path", "body", "allowed"), ENDPOINTS, ids=[f"{m} {p}" for m, p, *_ in ENDPOINTS]
)
def test_permission_matrix(objects, role, method, path, body, allowed):
    user = user_for(role, objects)
    client = client_for(user)
    url = path.format(
        company=objects["company"].pk,
        campaign=objects["campaign"].pk,
        loan=objects["loan"].loan_id,
        investment=objects["investment"].pk,
        institution=objects["institution"].address,
        credential=objects["credential"].pk,
        transaction=objects["transaction"].pk,
        my_wallet=user.wallet_address if user else new_wallet(),
        webhook_endpoint=objects["webhook_endpoint"].pk,
        webhook_delivery=objects["webhook_delivery"].pk,
    )
    response = getattr(client, method)(url, _body(body, objects), format="json")
    if role in allowed:
        assert response.status_code not in (401, 403), (role, method, url, response.json())
        assert response.status_code < 500
    else:
        expected = 401 if role == "anonymous" else 403
        assert response.status_code == expected, (role, method, url, response.status_code)


# --- completeness: every (method, route) under /api/ has a row above ---------------------------------

# Formats ENDPOINTS paths for resolving only (no objects needed): any value the route's converter takes.
SAMPLE_IDS = {
    "company": 1,
    "campaign": 1,
    "loan": "LN-1",
    "investment": 1,
    "institution": "0x" + "ab" * 20,
    "credential": 1,
    "transaction": 1,
    "my_wallet": "0x" + "cd" * 20,
    "webhook_endpoint": 1,
    "webhook_delivery": 1,
}
# Not checked: the OpenAPI schema and its two viewers (Swagger UI, ReDoc) are generated documentation,
# public by design (frontends and the schema tests read them) and show nothing a role could be denied.
UNCHECKED_ROUTES = {"api/schema/", "api/docs/", "api/redoc/"}
IGNORED_METHODS = {"head", "options"}  # derived from GET / answered by DRF for any view


def _join(route1: str, route2: str) -> str:
    """As django.urls.resolvers.URLResolver._join_route, so the routes equal ResolverMatch.route."""
    return route1 + route2.removeprefix("^") if route1 else route2


def _routes(resolver: URLResolver, prefix: str = ""):
    for pattern in resolver.url_patterns:
        route = _join(prefix, str(pattern.pattern))
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern, route)
        else:
            yield route, pattern.callback


def _methods(route: str, callback) -> set[str]:
    """The HTTP methods a view answers: a ViewSet route's action map (the router puts it on the
    callback as `.actions`), else the class's handlers; both limited by its `http_method_names`."""
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    assert view_class is not None, f"{route}: a function view; list its methods in this test"
    allowed = {m for m in view_class.http_method_names if m not in IGNORED_METHODS}
    actions = getattr(callback, "actions", None)
    if actions is not None:
        return {m for m, action in actions.items() if m in allowed and hasattr(view_class, action)}
    return {m for m in allowed if hasattr(view_class, m)}


def api_endpoints() -> set[tuple[str, str]]:
    """(method, route) for every endpoint under /api/ in the URL conf."""
    return {
        (method, route)
        for route, callback in _routes(get_resolver())
        if route.startswith("api/") and route not in UNCHECKED_ROUTES
        for method in _methods(route, callback)
    }


def test_the_matrix_covers_every_api_endpoint():
    in_conf = api_endpoints()
    in_matrix = set()
    for method, path, *_ in ENDPOINTS:
        try:
            in_matrix.add((method, resolve(path.format(**SAMPLE_IDS)).route))
        except Resolver404:
            in_matrix.add((method, path))  # no route at all: reported as stale below
    missing = sorted(in_conf - in_matrix, key=lambda e: (e[1], e[0]))
    stale = sorted(in_matrix - in_conf, key=lambda e: (e[1], e[0]))
    assert not missing, "endpoints with no row in ENDPOINTS:\n" + "\n".join(
        f"  {m.upper()} {r}" for m, r in missing
    )
    assert not stale, "ENDPOINTS rows the URL conf does not answer:\n" + "\n".join(
        f"  {m.upper()} {r}" for m, r in stale
    )
