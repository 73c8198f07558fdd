"""Compliance in the admin, and the KYB credential hook the credentials app plugs into."""

from __future__ import annotations

import pytest
from django.test import Client

from issuers.kyb import KybCredential, _resolvers, register_kyb_resolver
from issuers.models import Company, ComplianceReview, KybStatus
from tests.support.issuance import proven_company_body
from tests.support.outbox import settle_outbox

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


@pytest.fixture
def company(auth_client) -> Company:
    client = auth_client("issuer")
    created = client.post("/api/issuers/", proven_company_body(client), format="json")
    return Company.objects.get(pk=created.json()["id"])


@pytest.fixture
def officer_admin(make_user):
    user, _ = make_user("compliance")
    client = Client()
    client.force_login(user)
    return client, user


def test_compliance_approves_kyb_from_the_admin_with_notes(contracts, company, officer_admin):
    client, officer = officer_admin
    queue = client.get("/admin/issuers/company/?queue=pending")
    assert queue.status_code == 200 and company.legal_name.encode() in queue.content
    form = client.post("/admin/issuers/company/", {"action": "approve_kyb", "_selected_action": [company.pk]})
    assert form.status_code == 200 and b'name="notes"' in form.content  # asks for the notes first
    done = client.post(
        "/admin/issuers/company/",
        {
            "action": "approve_kyb",
            "_selected_action": [company.pk],
            "apply": "1",
            "notes": "register checked",
        },
    )
    assert done.status_code == 302
    company.refresh_from_db()
    assert company.kyb_status == KybStatus.APPROVED and company.reviewed_by == officer
    review = ComplianceReview.objects.get(object_id=company.pk)
    assert (review.decision, review.notes, review.officer) == ("approve", "register checked", officer)
    settle_outbox()
    company.refresh_from_db()
    assert company.registered
    page = client.get(f"/admin/issuers/company/{company.pk}/change/")
    assert page.status_code == 200 and b"register checked" in page.content  # the inline history
    assert client.post(f"/admin/issuers/company/{company.pk}/delete/").status_code == 403


def test_rejecting_in_the_admin_needs_notes(company, officer_admin):
    client, _ = officer_admin
    client.post(
        "/admin/issuers/company/",
        {"action": "reject_kyb", "_selected_action": [company.pk], "apply": "1", "notes": ""},
    )
    company.refresh_from_db()
    assert company.kyb_status == KybStatus.PENDING and not ComplianceReview.objects.exists()


def test_other_roles_have_no_admin_access_to_companies(company, make_user):
    user, _ = make_user("operator")
    client = Client()
    client.force_login(user)
    assert client.get("/admin/issuers/company/").status_code == 200  # operators read
    response = client.post(
        "/admin/issuers/company/",
        {"action": "approve_kyb", "_selected_action": [company.pk], "apply": "1", "notes": ""},
    )
    company.refresh_from_db()
    assert company.kyb_status == KybStatus.PENDING  # the action needs the change permission
    assert response.status_code in (200, 302)


def test_a_kyb_credential_found_by_a_resolver_is_registered_as_the_vc_hash(contracts, company, auth_client):
    fingerprint = "0x" + "cd" * 32
    resolver = lambda c: KybCredential("cred-42", fingerprint) if c.pk == company.pk else None  # noqa: E731
    register_kyb_resolver(resolver)
    try:
        response = auth_client("compliance").post(
            f"/api/issuers/{company.pk}/review/", {"decision": "approve"}, format="json"
        )
    finally:
        _resolvers.remove(resolver)
    assert response.json()["kyb_credential_id"] == "cred-42"
    assert response.json()["kyb_credential_fingerprint"] == fingerprint
    settle_outbox()
    from blockchain.chain.bindings import bound

    _registered, vc_hash, *_ = bound("IssuerRegistry").call("issuerOf", company.wallet_address)
    assert "0x" + vc_hash.hex() == fingerprint
