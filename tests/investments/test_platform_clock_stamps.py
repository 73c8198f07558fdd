"""Domain timestamps follow the platform's clock (core.clock), not the wall clock: after
`advance_time` in development, what a service stamps (an approval, a review, a repayment, a
revocation request, an investment) is as far ahead as the chain's clock, so a loan is never repaid
before it was anchored and a revocation is never requested before it was confirmed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from eth_account import Account

from campaigns import services as campaign_services
from core import clock
from credentials import services as credential_services
from credentials.models import Credential, CredentialStatus, Institution
from issuers import services as issuer_services
from issuers.models import Company
from issuers.services import reviews_of
from loans import services as loan_services
from loans.models import Loan, LoanStatus
from tests.support.issuance import CID
from tests.support.loans import make_loan

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

AHEAD = timedelta(days=30)
# The wall clock stands still at this instant (inside the tests' open campaign runs), so a stamp is
# exactly WALL (taken from the wall clock) or WALL + AHEAD (from the platform's), whatever the load.
WALL = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def frozen_wall_clock(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: WALL)
    return WALL


@pytest.fixture
def advanced_clock(contracts, settings, tmp_path, frozen_wall_clock):
    """Development with the platform's clock moved 30 days ahead of the wall clock (advance_time)."""
    settings.VAR_DIR = tmp_path
    settings.DJANGO_ENV = "development"
    clock.set_offset(seconds=int(AHEAD.total_seconds()))
    return AHEAD


def on_platform_clock(moment) -> bool:
    """`moment` was taken on the advanced platform clock, not on the (frozen) wall clock."""
    return moment == WALL + AHEAD


def test_loan_times_follow_the_platform_clock(advanced_clock):
    loan = loan_services.approve_loan(loan=make_loan(), actor=None)
    assert on_platform_clock(loan.approved_at)
    Loan.objects.filter(pk=loan.pk).update(status=LoanStatus.ANCHORED)  # storeLoan confirmed
    repaid = loan_services.request_repayment(loan=Loan.objects.get(pk=loan.pk), actor=None)
    assert on_platform_clock(repaid.repaid_at)
    assert all(on_platform_clock(entry.at) for entry in repaid.history.all())


def test_review_and_revocation_times_follow_the_platform_clock(advanced_clock, make_user):
    officer, _ = make_user("compliance")
    company = Company.objects.create(
        owner=make_user("issuer")[0],
        legal_name="Clockwork AG",
        registration_number="CHE-CLOCK-1",
        country="CH",
        wallet_address=Account.create().address,
        document_cid=CID,
    )
    reviewed = issuer_services.review_company(company=company, officer=officer, decision="approve")
    assert on_platform_clock(reviewed.reviewed_at)
    assert on_platform_clock(reviews_of(reviewed).get().created_at)

    institution = Institution.objects.create(address=Account.create().address, name="Clock University")
    credential = Credential.objects.create(
        credential_ref="0x" + "11" * 32,
        institution=institution,
        subject_wallet=Account.create().address,
        credential_type="diploma",
        fingerprint="0x" + "22" * 32,
        onchain_id=1,
        status=CredentialStatus.ISSUED,
    )
    revoked = credential_services.revoke_credential(actor=None, credential=credential, reason="in error")
    assert on_platform_clock(revoked.revocation_requested_at)


def test_an_investment_is_dated_on_the_platform_clock(
    open_campaign, make_investor, settings, tmp_path, frozen_wall_clock
):
    campaign = open_campaign()
    investor, _client, _wallet = make_investor()
    settings.VAR_DIR, settings.DJANGO_ENV = tmp_path, "development"
    clock.set_offset(seconds=int(AHEAD.total_seconds()))
    investment = campaign_services.invest(campaign=campaign, investor=investor, amount=Decimal("100"))
    assert on_platform_clock(investment.created_at)
    # The 12-month limit counts it against the platform's now.
    assert campaign_services.invested_12m(investor) == Decimal("100")
