"""Only a service declares a chain intent: a save of a row in any state, without a declaration (as a
projection, a rewind, a rebuild or an admin edit of a plain field would make), enqueues nothing."""

from __future__ import annotations

import pytest
from django.utils import timezone

from blockchain.models import ChainTransaction
from blockchain.outbox.declared import UnknownIntent, declare, take_declared
from credentials import services as credential_services
from credentials.models import Credential
from loans import services as loan_services
from loans.models import Loan
from tests.support.loans import make_loan
from tests.support.outbox import settle_outbox

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

SUBJECT = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"


def test_a_loan_saved_in_anchoring_without_a_declaration_enqueues_nothing(contracts):
    loan = loan_services.approve_loan(loan=make_loan(), actor=None)  # declared: one storeLoan
    assert ChainTransaction.objects.filter(kind="loans.store_loan").count() == 1
    row = Loan.objects.get(pk=loan.pk)
    row.store_attempt += 1  # what used to make the signal enqueue a second intent
    row.save()
    assert ChainTransaction.objects.filter(kind="loans.store_loan").count() == 1


def test_a_credential_that_looks_revocation_requested_is_not_revoked_unless_a_service_asked(
    contracts, kyc_institution
):
    credential = credential_services.issue_credential(
        actor=None,
        institution=kyc_institution,
        subject_wallet=SUBJECT,
        credential_type="diploma",
        document={"n": 1},
    )
    settle_outbox()
    row = Credential.objects.get(pk=credential.pk)
    row.revocation_requested_at = timezone.now()  # as a chain event once made it look
    row.revoke_attempt += 1
    row.save()
    assert not ChainTransaction.objects.filter(kind__startswith="credentials.revoke").exists()
    Credential.objects.filter(pk=row.pk).update(revocation_requested_at=None)
    credential_services.revoke_credential(actor=None, credential=row, reason="superseded")  # declared
    assert ChainTransaction.objects.filter(kind="credentials.revoke").count() == 1


def test_an_intent_no_app_declares_is_refused_before_the_save(contracts):
    loan = make_loan()
    with pytest.raises(UnknownIntent, match=r"loans\.no_such_intent"):
        declare(loan, "loans.no_such_intent")
    assert take_declared(loan) == []
