"""Saving an institution asks the chain for upsertInstitution only when a field the chain holds
(name, metadata URI, KYC provider, active) changed: saving its members in the admin, or posting
the same institution again, sends nothing; a changed on-chain field sends exactly one transaction;
after a failed upsert, asking again is the retry."""

from __future__ import annotations

import pytest
from django.test import Client

from blockchain.models import ChainTransaction
from credentials import services
from credentials.models import Institution, SyncStatus
from credentials.onchain.intents import UPSERT_KIND
from tests.support.outbox import settle_outbox

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


def upserts(institution: Institution) -> int:
    return ChainTransaction.objects.filter(kind=UPSERT_KIND, object_id=institution.pk).count()


def same_fields(institution: Institution, **changes) -> dict:
    fields = {
        "address": institution.address,
        "name": institution.name,
        "metadata_uri": institution.metadata_uri,
        "kyc_provider": institution.kyc_provider,
        "active": institution.active,
    }
    return {**fields, **changes}


def test_posting_the_same_institution_again_sends_nothing(institution, operator):
    row, _ = institution
    assert upserts(row) == 1  # the fixture's creation
    again = operator.post("/api/institutions/", same_fields(row), format="json")
    assert again.status_code == 202 and again.json()["sync_status"] == "synced"
    assert upserts(row) == 1
    row.refresh_from_db()
    assert row.upsert_attempt == 1 and row.sync_status == SyncStatus.SYNCED


def test_a_changed_onchain_field_sends_exactly_one_upsert(institution, operator):
    row, _ = institution
    changed = operator.post("/api/institutions/", same_fields(row, metadata_uri="ipfs://v2"), format="json")
    assert changed.status_code == 202 and changed.json()["sync_status"] == "pending"
    assert upserts(row) == 2
    latest = ChainTransaction.objects.filter(kind=UPSERT_KIND, object_id=row.pk).latest("pk")
    assert latest.args[2] == "ipfs://v2"
    # Asked again while that one is on its way: still one.
    operator.post("/api/institutions/", same_fields(row, metadata_uri="ipfs://v2"), format="json")
    assert upserts(row) == 2
    settle_outbox()
    row.refresh_from_db()
    assert row.sync_status == SyncStatus.SYNCED and row.metadata_uri == "ipfs://v2"


@pytest.mark.parametrize(
    "change",
    [{"name": "Trust Bank KYC AG"}, {"kyc_provider": False}, {"active": False}, {"metadata_uri": ""}],
)
def test_each_onchain_field_counts_as_a_change(institution, change):
    row, _ = institution
    services.upsert_institution(**same_fields(row, **change))
    assert upserts(row) == 2


def test_a_failed_upsert_is_retried_by_asking_again(institution):
    row, _ = institution
    Institution.objects.filter(pk=row.pk).update(sync_status=SyncStatus.FAILED)
    services.upsert_institution(**same_fields(row))
    assert upserts(row) == 2
    row.refresh_from_db()
    assert row.sync_status == SyncStatus.PENDING and row.upsert_attempt == 2


def test_saving_members_in_the_admin_sends_nothing_and_a_rename_sends_one(institution, make_user):
    row, _ = institution
    operator, _ = make_user("operator")
    staff, _ = make_user("institution")
    admin = Client()
    admin.force_login(operator)
    change_url = f"/admin/credentials/institution/{row.pk}/change/"
    form = {
        "name": row.name,
        "metadata_uri": row.metadata_uri,
        "kyc_provider": "on",
        "active": "on",
        "members": [m.pk for m in row.members.all()] + [staff.pk],
        "_save": "Save",
    }
    saved = admin.post(change_url, form)
    assert saved.status_code == 302, saved.content[:2000]
    assert staff in row.members.all()
    assert upserts(row) == 1  # members are the platform's: nothing for the chain

    renamed = admin.post(change_url, {**form, "name": "Trust Bank KYC AG"})
    assert renamed.status_code == 302
    assert upserts(row) == 2
    row.refresh_from_db()
    assert row.name == "Trust Bank KYC AG" and row.sync_status == SyncStatus.PENDING
