"""The credentials' rebuild hook clears what only the chain decides in one statement, and writes no
row that holds nothing to clear (with 17 indexes on the table, every row written is the cost of a
rebuild at a million credentials)."""

from __future__ import annotations

import secrets

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from credentials.models import Credential, CredentialStatus, Institution
from credentials.onchain.projection import clear_chain_facts

pytestmark = pytest.mark.django_db

C = CredentialStatus


def _credential(institution: Institution, status: str, **chain_columns) -> Credential:
    return Credential.objects.create(
        credential_ref="0x" + secrets.token_hex(32),
        institution=institution,
        subject_wallet="0x" + secrets.token_hex(20),
        credential_type="diploma",
        document={"n": secrets.token_hex(4)},
        fingerprint="0x" + secrets.token_hex(32),
        status=status,
        **chain_columns,
    )


def test_chain_facts_are_cleared_in_one_update_and_untouched_rows_are_not_written():
    institution = Institution.objects.create(address="0x" + secrets.token_hex(20), name="Reset University")
    now = timezone.now()
    issued = _credential(institution, C.ISSUED, onchain_id=7, issued_tx_hash="0x" + "a" * 64, issued_at=now)
    revoked = _credential(
        institution,
        C.REVOKED,
        onchain_id=8,
        issued_tx_hash="0x" + "b" * 64,
        issued_at=now,
        revoked_tx_hash="0x" + "c" * 64,
        revoked_at=now,
    )
    failed_with_hash = _credential(institution, C.FAILED, issued_tx_hash="0x" + "d" * 64)
    untouched = [_credential(institution, C.PENDING), _credential(institution, C.FAILED)]

    with CaptureQueriesContext(connection) as queries:
        cleared = clear_chain_facts(Credential.objects.all())

    assert len(queries) == 1 and queries[0]["sql"].startswith("UPDATE")
    assert cleared == 3  # the pending and failed rows without chain columns were not written
    for row in (issued, revoked):
        row.refresh_from_db()
        assert row.status == C.PENDING
        assert (row.onchain_id, row.issued_tx_hash, row.issued_at) == (None, "", None)
        assert (row.revoked_tx_hash, row.revoked_at) == ("", None)
    failed_with_hash.refresh_from_db()
    assert failed_with_hash.status == C.FAILED and failed_with_hash.issued_tx_hash == ""
    assert [Credential.objects.get(pk=row.pk).status for row in untouched] == [C.PENDING, C.FAILED]
    assert clear_chain_facts(Credential.objects.all()) == 0  # nothing left to clear: nothing written
