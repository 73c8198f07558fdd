"""Operators manage an institution's members by API: list, add (never an investor), remove; who may,
and what is refused (403 for everyone else, 400 with a code for ineligible or unknown users, 404 for
an unknown institution or member). The database refuses an investor member whoever adds one."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from eth_account import Account

from blockchain.models import ChainTransaction
from credentials.models import Institution, SyncStatus
from credentials.selectors import eligible_members
from tests.support.users import jwt_client

pytestmark = pytest.mark.django_db


def members_url(institution: Institution) -> str:
    return f"/api/institutions/{institution.address}/members/"


@pytest.fixture
def university() -> Institution:
    """A synced institution (created as the chain's projection would: no upsert intent)."""
    return Institution.objects.create(
        address=Account.create().address, name="University of Testing", sync_status=SyncStatus.SYNCED
    )


@pytest.fixture
def operator(auth_client):
    return auth_client("operator")


def usernames(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [member["username"] for member in response.json()["results"]]


def test_an_operator_lists_adds_and_removes_members(university, operator, make_user):
    registrar, _ = make_user("institution", username="registrar")
    dean, _ = make_user("institution", username="dean")
    assert usernames(operator.get(members_url(university))) == []

    by_name = operator.post(members_url(university), {"username": "registrar"}, format="json")
    assert by_name.status_code == 201
    assert by_name.json() == {"id": registrar.pk, "username": "registrar", "role": "institution"}
    by_id = operator.post(members_url(university), {"user_id": dean.pk}, format="json")
    assert by_id.status_code == 201 and by_id.json()["id"] == dean.pk
    again = operator.post(members_url(university), {"user_id": dean.pk}, format="json")
    assert again.status_code == 200 and again.json()["id"] == dean.pk  # already one: nothing changes
    assert usernames(operator.get(members_url(university))) == ["dean", "registrar"]
    assert set(university.members.all()) == {registrar, dean}

    removed = operator.delete(f"{members_url(university)}{dean.pk}/")
    assert removed.status_code == 204
    assert usernames(operator.get(members_url(university))) == ["registrar"]
    gone = operator.delete(f"{members_url(university)}{dean.pk}/")
    assert gone.status_code == 404 and gone.json()["code"] == "not_a_member"
    # Membership is the platform's own: no chain transaction for any of it.
    assert not ChainTransaction.objects.exists()


@pytest.mark.chain
def test_membership_is_what_lets_a_staff_member_issue(contracts, university, operator, make_user):
    staff, _ = make_user("institution")
    client = jwt_client(staff)
    body = {
        "institution": university.address,
        "subject_wallet": Account.create().address,
        "credential_type": "diploma",
        "document": {"degree": "BSc"},
    }
    assert client.post("/api/credentials/issue/", body, format="json").status_code == 403
    operator.post(members_url(university), {"user_id": staff.pk}, format="json")
    assert client.post("/api/credentials/issue/", body, format="json").status_code == 202
    operator.delete(f"{members_url(university)}{staff.pk}/")
    body["document"] = {"degree": "MSc"}
    assert client.post("/api/credentials/issue/", body, format="json").status_code == 403


@pytest.mark.parametrize("role", ["investor", "issuer", "institution", "compliance"])
def test_only_operators_manage_members(university, auth_client, make_user, role):
    member, _ = make_user("institution")
    university.members.add(member)
    client = auth_client(role)
    assert client.get(members_url(university)).status_code == 403
    added = client.post(members_url(university), {"user_id": client.user.pk}, format="json")
    assert added.status_code == 403 and added.json()["code"] == "permission_denied"
    assert client.delete(f"{members_url(university)}{member.pk}/").status_code == 403
    assert list(university.members.all()) == [member]  # nothing changed


def test_anonymous_callers_are_asked_to_sign_in(university, api_client):
    assert api_client.get(members_url(university)).status_code == 401
    assert api_client.post(members_url(university), {"user_id": 1}, format="json").status_code == 401


def test_an_investor_or_an_inactive_account_cannot_be_a_member(university, operator, make_user):
    investor, _ = make_user("investor")
    refused = operator.post(members_url(university), {"user_id": investor.pk}, format="json")
    assert refused.status_code == 400
    assert refused.json()["code"] == "member_not_eligible" and "investor" in refused.json()["message"]
    retired, _ = make_user("institution")
    retired.is_active = False
    retired.save(update_fields=["is_active"])
    refused = operator.post(members_url(university), {"username": retired.username}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "member_not_eligible"
    assert not university.members.exists()


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"user_id": 99_999_999}, "unknown_user", "user_id"),
        ({"username": "nobody-by-this-name"}, "unknown_user", "username"),
        ({}, "invalid", "non_field_errors"),
        ({"user_id": 1, "username": "both"}, "invalid", "non_field_errors"),
        ({"user_id": "abc"}, "invalid", "user_id"),
    ],
)
def test_bad_member_input_is_a_400_naming_the_problem(university, operator, body, code, field):
    response = operator.post(members_url(university), body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == code and field in response.json()["errors"]
    assert not university.members.exists()


def test_an_unknown_institution_or_member_is_a_404(university, operator, make_user):
    staff, _ = make_user("institution")
    stranger = f"/api/institutions/{Account.create().address}/members/"
    assert operator.get(stranger).status_code == 404
    unknown = operator.post(stranger, {"user_id": staff.pk}, format="json")
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"
    assert operator.delete(f"{stranger}{staff.pk}/").status_code == 404
    not_member = operator.delete(f"{members_url(university)}{staff.pk}/")
    assert not_member.status_code == 404 and not_member.json()["code"] == "not_a_member"
    no_user = operator.delete(f"{members_url(university)}99999999/")
    assert no_user.status_code == 404


def test_the_database_refuses_an_investor_member(university, make_user):
    """Whoever writes the membership (the admin's widget, a script): the trigger of migration 0005."""
    investor, _ = make_user("investor")
    with pytest.raises(IntegrityError), transaction.atomic():
        university.members.add(investor)
    staff, _ = make_user("institution")
    university.members.add(staff)
    assert list(university.members.all()) == [staff]


def test_eligible_members_are_active_non_investor_accounts(make_user):
    staff, _ = make_user("institution")
    operator, _ = make_user("operator")
    investor, _ = make_user("investor")
    retired, _ = make_user("institution")
    retired.is_active = False
    retired.save(update_fields=["is_active"])
    eligible = set(eligible_members())
    assert {staff, operator} <= eligible and not {investor, retired} & eligible
