"""`GET /api/credentials/{id}/` reads one credential in one precompiled statement
(`selectors.credential_detail`) and shows it with `serializers.credential_representation` instead of
the queryset and ModelSerializer the list uses. The two must agree: the same body, field for field
and in order, for every kind of credential and outbox state, and the same visibility for every
kind of caller. No chain needed: the rows are written straight into the tables."""

from __future__ import annotations

import itertools
import json
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from eth_account import Account
from rest_framework.renderers import JSONRenderer

from blockchain.models import TxStatus
from credentials import selectors
from credentials.models import Credential, CredentialBatch, CredentialStatus, Institution
from credentials.onchain.intents import BATCH_KIND, ISSUE_KIND, REVOKE_KIND
from credentials.serializers import CredentialSerializer, credential_representation
from tests.support.outbox import outbox_row
from tests.support.users import create_user, jwt_client

pytestmark = pytest.mark.django_db

_numbers = itertools.count(1)


def _hash() -> str:
    return "0x" + uuid.uuid4().hex * 2


def _credential(institution: Institution, **fields) -> Credential:
    values = {
        "credential_ref": _hash(),
        "institution": institution,
        "subject_wallet": Account.create().address,
        "credential_type": "diploma",
        "document": {"degree": "MSc", "nested": {"b": [1, 2.5, None], "a": "ü"}},
        "fingerprint": _hash(),
        "status": CredentialStatus.ISSUED,
        "issued_at": timezone.now() - timedelta(days=3),
        **fields,
    }
    return Credential.objects.create(**values)


def _batched(institution: Institution, **fields) -> Credential:
    batch = CredentialBatch.objects.create(institution=institution, merkle_root=_hash(), count=1)
    return _credential(institution, batch=batch, leaf=_hash(), proof=[_hash(), _hash()], **fields)


def _issued(institution):
    credential = _credential(institution, onchain_id=next(_numbers) + 10**12)
    outbox_row(credential, ISSUE_KIND, TxStatus.CONFIRMED, block_number=120)
    return credential


def _pending(institution):
    credential = _credential(institution)  # stored issued, but its issueCredential is on its way
    outbox_row(credential, ISSUE_KIND, TxStatus.SENT)
    return credential


def _failed(institution):
    credential = _credential(institution, status=CredentialStatus.PENDING, issued_at=None)
    outbox_row(
        credential,
        ISSUE_KIND,
        TxStatus.FAILED,
        block_number=7,
        error_code="InstitutionInactive",
        error={"institution": "0x" + "2" * 40, "n": 1.5},
    )
    return credential


def _revoking(institution):
    credential = _issued(institution)
    credential.revocation_requested_at = timezone.now()
    credential.revocation_reason = "a typo in the name"
    credential.save()
    outbox_row(credential, REVOKE_KIND, TxStatus.QUEUED)
    return credential


def _revoked(institution):
    credential = _issued(institution)
    now = timezone.now()
    Credential.objects.filter(pk=credential.pk).update(
        status=CredentialStatus.REVOKED, revocation_requested_at=now, revoked_at=now, revocation_reason="x"
    )
    outbox_row(credential, REVOKE_KIND, TxStatus.CONFIRMED, block_number=130)
    return credential


def _expired(institution):
    return _credential(institution, expires_at=timezone.now() - timedelta(hours=1))


def _expiring(institution):
    return _credential(institution, expires_at=timezone.now() + timedelta(days=300))


def _no_document(institution):
    return _credential(institution, document=None, credential_type="", issued_at=None)


def _batch_anchoring(institution):
    credential = _batched(institution)
    outbox_row(credential.batch, BATCH_KIND, TxStatus.MINED, block_number=140)
    return credential


def _batch_anchored_then_revoking(institution):
    credential = _batched(institution)
    outbox_row(credential.batch, BATCH_KIND, TxStatus.CONFIRMED, block_number=141)
    outbox_row(credential, "credentials.revoke_batch_leaf", TxStatus.SIGNED)
    Credential.objects.filter(pk=credential.pk).update(revocation_requested_at=timezone.now())
    return credential


def _inactive_institution(institution):
    other = Institution.objects.create(address=Account.create().address, name="Closed", active=False)
    return _issued(other)


KINDS = [
    _issued,
    _pending,
    _failed,
    _revoking,
    _revoked,
    _expired,
    _expiring,
    _no_document,
    _batch_anchoring,
    _batch_anchored_then_revoking,
    _inactive_institution,
]


@pytest.fixture
def institution():
    return Institution.objects.create(address=Account.create().address, name="Detail University")


@pytest.mark.parametrize("make", KINDS, ids=lambda f: f.__name__.strip("_"))
def test_the_one_statement_read_shows_what_the_serializer_shows(make, institution):
    operator, _ = create_user("operator")
    credential = make(institution)
    expected = CredentialSerializer(selectors.credentials_for(operator).get(pk=credential.pk)).data
    read = selectors.credential_detail(operator, credential.pk)
    assert credential_representation(read) == expected
    assert list(credential_representation(read)) == list(expected)  # the same order too
    # and through the API: the same bytes as the serializer's data rendered
    response = jwt_client(operator).get(f"/api/credentials/{credential.pk}/")
    assert response.status_code == 200
    assert response.content == JSONRenderer().render(expected)


def test_one_statement_for_the_credential_and_its_outbox_rows(institution):
    operator, _ = create_user("operator")
    credential = _batch_anchored_then_revoking(institution)  # own and batch outbox rows
    client = jwt_client(operator)
    path = f"/api/credentials/{credential.pk}/"
    client.get(path)  # warm: content types, connection
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    statements = [q["sql"] for q in queries.captured_queries]
    # the user's row (authentication), then the credential with institution, batch and outbox rows
    assert len(statements) == 2, statements
    assert 'FROM "accounts_user"' in statements[0]


def test_visibility_is_credentials_for_s(institution):
    """Every kind of caller against credentials they may and may not see: the one-statement read finds
    exactly the rows `credentials_for` finds, and the API answers 404 for the rest."""
    member, _ = create_user("institution")
    institution.members.add(member)
    outsider_member, _ = create_user("institution")
    Institution.objects.create(address=Account.create().address, name="Other").members.add(outsider_member)
    subject, _ = create_user("investor")
    subject.wallet_address, subject.wallet_verified = Account.create().address, True
    subject.save()
    unverified, _ = create_user("investor")
    unverified.wallet_address = Account.create().address
    unverified.save()
    compliance, _ = create_user("compliance")
    superuser, _ = create_user("investor")
    superuser.is_superuser = True
    superuser.save()
    stranger, _ = create_user("investor")
    credentials = [
        _issued(institution),
        _credential(institution, subject_wallet=subject.wallet_address),
        _credential(institution, subject_wallet=unverified.wallet_address),
        _batched(institution, subject_wallet=subject.wallet_address),
        _inactive_institution(institution),
    ]
    callers = [member, outsider_member, subject, unverified, compliance, superuser, stranger]
    seen_any = set()
    for user in callers:
        client = jwt_client(user)
        for credential in credentials:
            visible = selectors.credentials_for(user).filter(pk=credential.pk).exists()
            read = selectors.credential_detail(user, credential.pk)
            assert (read is not None) == visible, (user.username, credential.pk)
            response = client.get(f"/api/credentials/{credential.pk}/")
            assert response.status_code == (200 if visible else 404)
            if not visible:
                assert response.json()["code"] == "not_found"
            seen_any.add(visible)
    assert seen_any == {True, False}


def test_a_missing_credential_is_the_same_404_as_before(institution):
    operator, _ = create_user("operator")
    client = jwt_client(operator)
    for pk in (10**9, 2**63, 10**30):
        response = client.get(f"/api/credentials/{pk}/")
        assert response.status_code == 404
        assert response.json() == {"code": "not_found", "message": "Not found."}


def test_query_parameters_keep_the_generic_path(institution):
    """Filters and the unknown-parameter check apply to the detail too: with a query string the view
    takes the queryset path, whose answers do not change."""
    operator, _ = create_user("operator")
    credential = _issued(institution)
    client = jwt_client(operator)
    path = f"/api/credentials/{credential.pk}/"
    assert client.get(path, {"status": "issued"}).json() == json.loads(client.get(path).content)
    assert client.get(path, {"status": "revoked"}).status_code == 404
    response = client.get(path, {"bogus": "1"})
    assert response.status_code == 400


def test_anonymous_callers_are_refused_before_any_read(institution):
    credential = _issued(institution)
    from rest_framework.test import APIClient

    response = APIClient().get(f"/api/credentials/{credential.pk}/")
    assert response.status_code == 401


def test_other_databases_read_through_the_queryset(institution, monkeypatch):
    """The one statement is PostgreSQL's (JSON aggregates); on another database (SQLite for `make
    run`) `credential_detail` is the queryset's read, with the same answer."""
    operator, _ = create_user("operator")
    credential = _batch_anchoring(institution)
    expected = credential_representation(selectors.credential_detail(operator, credential.pk))
    monkeypatch.setattr(connection, "vendor", "sqlite")
    with CaptureQueriesContext(connection) as queries:
        read = selectors.credential_detail(operator, credential.pk)
    assert len(queries.captured_queries) == 3  # the queryset, its two outbox prefetches
    assert credential_representation(read) == expected
