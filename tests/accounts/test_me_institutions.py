"""`/api/auth/me/` names the institutions a staff member belongs to (id, address, name, their role
there), and follows membership changes."""

from __future__ import annotations

import pytest
from eth_account import Account

from credentials.models import Institution, SyncStatus
from tests.support.users import jwt_client

pytestmark = pytest.mark.django_db

ME = "/api/auth/me/"


def institution(name: str) -> Institution:
    return Institution.objects.create(
        address=Account.create().address, name=name, sync_status=SyncStatus.SYNCED
    )


def test_me_lists_a_staff_members_institutions_by_name(make_user):
    staff, _ = make_user("institution")
    zurich, basel = institution("Zurich Registry"), institution("Basel KYC")
    institution("Elsewhere")  # not theirs
    zurich.members.add(staff)
    basel.members.add(staff)
    me = jwt_client(staff).get(ME)
    assert me.status_code == 200
    assert me.json()["institutions"] == [
        {"id": basel.pk, "address": basel.address, "name": "Basel KYC", "role": "member"},
        {"id": zurich.pk, "address": zurich.address, "name": "Zurich Registry", "role": "member"},
    ]


def test_me_follows_membership_changes_made_by_an_operator(make_user):
    staff, _ = make_user("institution")
    registry = institution("Registry")
    client = jwt_client(staff)
    assert client.get(ME).json()["institutions"] == []
    operator = jwt_client(make_user("operator")[0])
    members = f"/api/institutions/{registry.address}/members/"
    assert operator.post(members, {"user_id": staff.pk}, format="json").status_code == 201
    assert [i["name"] for i in client.get(ME).json()["institutions"]] == ["Registry"]
    assert operator.delete(f"{members}{staff.pk}/").status_code == 204
    assert client.get(ME).json()["institutions"] == []


@pytest.mark.parametrize("role", ["investor", "issuer", "operator"])
def test_users_of_no_institution_see_an_empty_list(make_user, role):
    user, _ = make_user(role)
    institution("Some University")
    assert jwt_client(user).get(ME).json()["institutions"] == []
