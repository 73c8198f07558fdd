"""credentials 0003/0004: every credential that existed before share ids gets its own."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from credentials.models import SHARE_ID_PATTERN, Credential, Institution, SyncStatus
from tests.support.issuance import new_wallet

pytestmark = pytest.mark.django_db

BEFORE = ("credentials", "0002_role_permissions")
AFTER = ("credentials", "0004_credential_share_id_required")


def migrate(target: tuple[str, str]) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])


def test_existing_credentials_get_distinct_share_ids():
    institution = Institution.objects.create(
        address=new_wallet(), name="Before Share Ids", sync_status=SyncStatus.SYNCED
    )
    ids = [
        Credential.objects.create(  # no document: no issuance intent
            credential_ref="0x" + f"{n:064x}",
            institution=institution,
            subject_wallet=new_wallet(),
            credential_type="kyc",
            fingerprint="0x" + f"{n + 1000:064x}",
        ).pk
        for n in range(1, 6)
    ]
    with connection.cursor() as cursor:
        # The rows' deferred foreign-key checks run now: PostgreSQL alters no table with checks pending.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    migrate(BEFORE)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 'credentials_credential' AND column_name = 'share_id'"
            )
            assert cursor.fetchone() is None  # the rows are as they were before share ids
    finally:
        migrate(AFTER)
    shares = list(Credential.objects.filter(pk__in=ids).values_list("share_id", flat=True))
    assert len(shares) == 5 and len(set(shares)) == 5
    assert all(re.fullmatch(SHARE_ID_PATTERN, share) and not share.isdigit() for share in shares)
