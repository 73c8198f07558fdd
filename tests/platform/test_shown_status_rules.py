"""One definition of each shown status, two evaluations that agree.

Each domain app declares what a row shows while its transaction is on its way (`pending`,
`revoking`, `deploying`, `closing`, `cancelling`, `recording`, `anchoring`, `repaying`) as a table of
`blockchain.selectors.ShownRule`s. The table is evaluated in SQL (`with_shown_status`: list filters,
webhook announcers) and in Python over the outbox rows the API's selectors prefetch for `chain`
(`shown_status`). For every stored status, with and without the platform request recorded on the
row, and every combination of the outbox rows the rules look at (none, one in flight, one settled;
plus an unrelated in-flight row that must not count), both evaluations must give the same status.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from eth_account import Account

from blockchain.models import IN_FLIGHT_STATUSES, ChainTransaction, TxStatus
from blockchain.selectors import InFlight, Requested, derive_shown_status, where_shown
from campaigns import selectors as campaign_selectors
from campaigns.models import Campaign, CampaignStatus, Investment, InvestmentStatus, RejectionReason
from credentials import selectors as credential_selectors
from credentials.models import Credential, CredentialBatch, CredentialStatus, Institution
from issuers.models import Company
from loans import selectors as loan_selectors
from loans.models import Loan, LoanStatus
from tests.support.outbox import outbox_row
from tests.support.users import create_user

pytestmark = pytest.mark.django_db

SETTLED_STATUSES = (TxStatus.CONFIRMED, TxStatus.FAILED, TxStatus.REPLACED)
NOISE_KIND = "tests.unrelated_kind"  # an in-flight row of a kind no rule names, on every subject
_numbers = itertools.count(1)


def _hash() -> str:
    return "0x" + uuid.uuid4().hex * 2


def _address() -> str:
    return Account.create().address


@dataclass
class Subject:
    """The rows one outbox state is about: the row itself (relation None) or a related row."""

    relation: str | None
    kinds: tuple[str, ...]


def _subjects(rules) -> list[Subject]:
    kinds: dict[str | None, list[str]] = {}
    for rule in rules:
        if isinstance(rule.when, InFlight):
            kinds.setdefault(rule.when.relation, [])
            kinds[rule.when.relation] += [k for k in rule.when.kinds if k not in kinds[rule.when.relation]]
    return [Subject(relation, tuple(names)) for relation, names in kinds.items()]


def _requested_fields(rules) -> list[Requested]:
    return list(dict.fromkeys(rule.when for rule in rules if isinstance(rule.when, Requested)))


def check_agreement(*, row, related: dict, rules, statuses, annotate, selected, shown_status) -> set[str]:
    """Walk every combination on `row` (and the rows in `related`, a relation name → a row it may
    point at); return the statuses shown, after asserting the two evaluations agree on each."""
    model = type(row)
    subjects = _subjects(rules)
    requested = _requested_fields(rules)
    states = ("none", "in_flight", "settled")
    # each subject: per kind a state; a related subject may also be absent (the foreign key empty)
    axes = []
    for subject in subjects:
        options = list(itertools.product(states, repeat=len(subject.kinds)))
        if subject.relation is not None:
            options.append(None)
        axes.append(options)
    seen: set[str] = set()
    checked = 0
    combinations = itertools.product(statuses, itertools.product((False, True), repeat=len(requested)), *axes)
    for index, (status, requested_values, *subject_states) in enumerate(combinations):
        changes: dict = {"status": status}
        for field, value in zip(requested, requested_values, strict=True):
            present = "0x" + "ab" * 32 if field.empty == "" else timezone.now()
            changes[field.field] = present if value else field.empty
        for subject, chosen in zip(subjects, subject_states, strict=True):
            if subject.relation is not None:
                attname = model._meta.get_field(subject.relation).attname
                changes[attname] = None if chosen is None else related[subject.relation].pk
        try:
            with transaction.atomic():
                model.objects.filter(pk=row.pk).update(**changes)
        except IntegrityError:
            continue  # a combination the database refuses (e.g. a repaid loan without its hash)
        checked += 1
        ChainTransaction.objects.filter(object_id__in=[row.pk, *(r.pk for r in related.values())]).delete()
        transactions = []
        for subject, chosen in zip(subjects, subject_states, strict=True):
            if chosen is None:
                continue
            target = row if subject.relation is None else related[subject.relation]
            transactions.append(outbox_row(target, NOISE_KIND, TxStatus.QUEUED, save=False))
            for offset, (kind, state) in enumerate(zip(subject.kinds, chosen, strict=True)):
                if state == "in_flight":
                    tx_status = IN_FLIGHT_STATUSES[(index + offset) % len(IN_FLIGHT_STATUSES)]
                elif state == "settled":
                    tx_status = SETTLED_STATUSES[(index + offset) % len(SETTLED_STATUSES)]
                else:
                    continue
                transactions.append(outbox_row(target, kind, tx_status, save=False))
        ChainTransaction.objects.bulk_create(transactions)

        in_sql = annotate(model.objects.filter(pk=row.pk)).values_list("shown_status", flat=True).get()
        read = selected.get(pk=row.pk)
        assert derive_shown_status(read, rules) is not None, (
            "the API's selector prefetches what the rules need"
        )
        in_python = shown_status(read)
        assert in_python == in_sql, (
            status,
            dict(zip(requested, requested_values, strict=True)),
            subject_states,
        )
        # The list filter (`?status=`) finds the row by what it shows, and not by another status.
        other = next(v for v in (str(status), *sorted(_shown_values(rules))) if v != in_sql)
        assert where_shown(model.objects.filter(pk=row.pk), rules, in_sql).exists()
        assert not where_shown(model.objects.filter(pk=row.pk), rules, other).exists()
        seen.add(in_sql)
    assert checked
    return seen


def _shown_values(rules) -> set[str]:
    return {str(rule.shown) for rule in rules}


def test_credential_rules_agree_in_sql_and_python():
    operator, _ = create_user("operator")
    institution = Institution.objects.create(address=_address(), name="Rules University")
    credential = Credential.objects.create(
        credential_ref=_hash(),
        institution=institution,
        subject_wallet=_address(),
        credential_type="diploma",
        document={"rules": True},
        fingerprint=_hash(),
        leaf=_hash(),
        revoked_at=timezone.now(),
    )
    batch = CredentialBatch.objects.create(institution=institution, merkle_root=_hash(), count=1)
    seen = check_agreement(
        row=credential,
        related={"batch": batch},
        rules=credential_selectors.SHOWN_STATUS_RULES,
        statuses=CredentialStatus.values,
        annotate=credential_selectors.with_shown_status,
        selected=credential_selectors.credentials_for(operator),
        shown_status=credential_selectors.shown_status,
    )
    assert _shown_values(credential_selectors.SHOWN_STATUS_RULES) <= seen


def _company():
    owner, _ = create_user("issuer")
    return Company.objects.create(
        owner=owner,
        legal_name="Rules GmbH",
        registration_number="HRB 1",
        country="DE",
        wallet_address=_address(),
        document_cid="QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG",
    )


def _campaign(issuer) -> Campaign:
    now = timezone.now()
    return Campaign.objects.create(
        campaign_ref=_hash(),
        issuer=issuer,
        title="Rules",
        goal=Decimal("100"),
        hard_cap=Decimal("200"),
        min_investment=Decimal("1"),
        share_price=Decimal("1"),
        starts_at=now,
        ends_at=now + timedelta(days=30),
        contract_address=_address(),
    )


def test_campaign_rules_agree_in_sql_and_python():
    operator, _ = create_user("operator")
    campaign = _campaign(_company())
    seen = check_agreement(
        row=campaign,
        related={},
        rules=campaign_selectors.CAMPAIGN_SHOWN_STATUS_RULES,
        statuses=CampaignStatus.values,
        annotate=campaign_selectors.with_shown_status,
        selected=campaign_selectors.campaigns_for(operator),
        shown_status=campaign_selectors.shown_status,
    )
    assert _shown_values(campaign_selectors.CAMPAIGN_SHOWN_STATUS_RULES) <= seen


def test_investment_rules_agree_in_sql_and_python():
    operator, _ = create_user("operator")
    investor, _ = create_user("investor")
    investment = Investment.objects.create(
        investment_ref=_hash(),
        campaign=_campaign(_company()),
        investor=investor,
        investor_wallet=_address(),
        amount=Decimal("10"),
        rejection_reason=RejectionReason.values[0],
    )
    seen = check_agreement(
        row=investment,
        related={},
        rules=campaign_selectors.INVESTMENT_SHOWN_STATUS_RULES,
        statuses=InvestmentStatus.values,
        annotate=campaign_selectors.with_shown_investment_status,
        selected=campaign_selectors.investments_for(operator),
        shown_status=campaign_selectors.shown_status,
    )
    assert _shown_values(campaign_selectors.INVESTMENT_SHOWN_STATUS_RULES) <= seen


def test_loan_rules_agree_in_sql_and_python():
    operator, _ = create_user("operator")
    loan = Loan.objects.create(
        loan_id=f"LN-RULES-{next(_numbers)}",
        borrower_wallet=_address(),
        lender_wallet=_address(),
        principal=Decimal("1000"),
        currency="USD",
        interest_rate_bps=500,
        term_months=12,
        loan_hash=_hash(),
        approved_at=timezone.now(),
    )
    seen = check_agreement(
        row=loan,
        related={},
        rules=loan_selectors.SHOWN_STATUS_RULES,
        statuses=LoanStatus.values,
        annotate=loan_selectors.with_shown_status,
        selected=loan_selectors.loans_for(operator),
        shown_status=loan_selectors.shown_status,
    )
    assert _shown_values(loan_selectors.SHOWN_STATUS_RULES) <= seen


def test_a_row_read_without_its_outbox_rows_is_read_through_sql():
    """A row a service returned (no prefetched outbox rows) is not derived from nothing."""
    loan = Loan.objects.create(
        loan_id=f"LN-RULES-{next(_numbers)}",
        borrower_wallet=_address(),
        lender_wallet=_address(),
        principal=Decimal("1000"),
        currency="USD",
        interest_rate_bps=500,
        term_months=12,
        loan_hash=_hash(),
        approved_at=timezone.now(),
        status=LoanStatus.ANCHORED,
    )
    row = outbox_row(loan, loan_selectors.STORE_KIND, TxStatus.SENT, save=False)
    ChainTransaction.objects.bulk_create([row])
    plain = Loan.objects.get(pk=loan.pk)
    assert derive_shown_status(plain, loan_selectors.SHOWN_STATUS_RULES) is None
    assert loan_selectors.shown_status(plain) == LoanStatus.ANCHORING


def test_the_api_reads_only_the_prefetched_outbox_fields(monkeypatch):
    """`chain_transactions_prefetch` loads only SUMMARY_FIELDS: no read of a chain-backed resource
    touches another field (which would cost one query per outbox row)."""
    from tests.support.users import jwt_client

    operator, _ = create_user("operator")
    company = _company()
    campaign = _campaign(company)
    Campaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.ACTIVE)
    investor, _ = create_user("investor")
    investment = Investment.objects.create(
        investment_ref=_hash(),
        campaign=campaign,
        investor=investor,
        investor_wallet=_address(),
        amount=Decimal("10"),
        status=InvestmentStatus.CONFIRMED,
    )
    institution = Institution.objects.create(address=_address(), name="Fields University")
    batch = CredentialBatch.objects.create(institution=institution, merkle_root=_hash(), count=1)
    credential = Credential.objects.create(
        credential_ref=_hash(),
        institution=institution,
        subject_wallet=_address(),
        credential_type="diploma",
        document={"fields": True},
        fingerprint=_hash(),
        leaf=_hash(),
        batch=batch,
        status=CredentialStatus.ISSUED,
    )
    loan = Loan.objects.create(
        loan_id=f"LN-FIELDS-{next(_numbers)}",
        borrower_wallet=_address(),
        lender_wallet=_address(),
        principal=Decimal("1000"),
        currency="USD",
        interest_rate_bps=500,
        term_months=12,
        loan_hash=_hash(),
        approved_at=timezone.now(),
        status=LoanStatus.ANCHORED,
    )
    transactions = []
    for rules, subject in (
        (credential_selectors.SHOWN_STATUS_RULES, credential),
        (campaign_selectors.CAMPAIGN_SHOWN_STATUS_RULES, campaign),
        (campaign_selectors.INVESTMENT_SHOWN_STATUS_RULES, investment),
        (loan_selectors.SHOWN_STATUS_RULES, loan),
    ):
        for rule in rules:
            if isinstance(rule.when, InFlight):
                target = batch if rule.when.relation else subject
                transactions += [
                    outbox_row(target, kind, TxStatus.MINED, save=False) for kind in rule.when.kinds
                ]
    for subject in (company, campaign, investment, institution, batch, credential, loan):
        for tx_status in (TxStatus.SENT, TxStatus.CONFIRMED, TxStatus.FAILED):
            tx = outbox_row(subject, NOISE_KIND, tx_status, save=False)
            tx.block_number = 7
            tx.error_code = "Failed" if tx_status == TxStatus.FAILED else ""
            transactions.append(tx)
    ChainTransaction.objects.bulk_create(transactions)

    def deferred_load(self, *args, **kwargs):
        raise AssertionError(f"a deferred outbox field was read: {kwargs.get('fields') or args}")

    monkeypatch.setattr(ChainTransaction, "refresh_from_db", deferred_load)
    client = jwt_client(operator)
    for path in (
        "/api/credentials/",
        f"/api/credentials/{credential.pk}/",
        "/api/institutions/",
        "/api/campaigns/",
        f"/api/campaigns/{campaign.pk}/",
        "/api/investments/",
        f"/api/investments/{investment.pk}/",
        "/api/certificates/",
        "/api/issuers/",
        "/api/loans/",
        f"/api/loans/{loan.loan_id}/",
        f"/api/loans/{loan.loan_id}/blockchain/status/",
    ):
        response = client.get(path)
        assert response.status_code == 200, (path, response.content[:300])
    shown = client.get(f"/api/credentials/{credential.pk}/").json()
    # the newest outbox row (a failed one, read to its error) is the chain; the anchoring is in flight
    assert (shown["status"], shown["chain"]["status"]) == ("pending", "failed")
