"""One decision vocabulary for every compliance review (API.md): companies take `approve|reject`,
campaigns `approve|reject|request_changes`, held investments `release|reject`, all words of
`ReviewDecision`. Anything else is 400 `invalid_decision` listing the valid words, and changes nothing,
whether it comes through the API or a service (the admin's path)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from eth_account import Account

from campaigns import services as campaign_services
from campaigns.models import Campaign, Investment, InvestmentStatus
from issuers import services as issuer_services
from issuers.models import Company, ComplianceReview, KybStatus, RegistrationStatus, ReviewDecision
from issuers.services import InvalidDecision
from tests.support.issuance import CID, NOT_STARTED
from tests.support.users import create_user

pytestmark = pytest.mark.django_db

COMPANY_WORDS = ["approve", "reject"]
CAMPAIGN_WORDS = ["approve", "reject", "request_changes"]
INVESTMENT_WORDS = ["release", "reject"]
NOT_DECISIONS = ["approved", "APPROVE", "Approve", " approve", "accept", "", 1, True, ["approve"], {"a": 1}]


@pytest.fixture
def subjects(db):
    owner = create_user("issuer")[0]
    company = Company.objects.create(
        owner=owner,
        legal_name="Vocabulary AG",
        registration_number="CHE-VOC",
        country="CH",
        wallet_address=Account.create().address,
        document_cid=CID,
    )
    registered = Company.objects.create(
        owner=owner,
        legal_name="Registered AG",
        registration_number="CHE-REG",
        country="CH",
        wallet_address=Account.create().address,
        document_cid=CID,
        kyb_status=KybStatus.APPROVED,
        registration_status=RegistrationStatus.REGISTERED,
    )
    starts = NOT_STARTED  # a run that has not begun, whatever day the suite runs
    Campaign.objects.bulk_create(  # no post_save: a row to review, no chain intent
        [
            Campaign(
                issuer=registered,
                title="Vocabulary",
                goal=Decimal(1000),
                hard_cap=Decimal(2000),
                min_investment=Decimal(1),
                share_price=Decimal(1),
                starts_at=starts,
                ends_at=starts + timedelta(days=30),
                status="pending_review",
                campaign_ref="0x" + "ab" * 32,
            )
        ]
    )
    campaign = Campaign.objects.get()
    Investment.objects.bulk_create(
        [
            Investment(
                campaign=campaign,
                investor=create_user("investor")[0],
                investor_wallet=Account.create().address,
                amount=1,
                investment_ref="0x" + "cd" * 32,
                status=InvestmentStatus.HELD_FOR_REVIEW,
            )
        ]
    )
    return {"company": company, "campaign": campaign, "investment": Investment.objects.get()}


def _review_urls(subjects) -> list[tuple[str, list[str], str]]:
    return [
        (f"/api/issuers/{subjects['company'].pk}/review/", COMPANY_WORDS, "company"),
        (f"/api/campaigns/{subjects['campaign'].pk}/review/", CAMPAIGN_WORDS, "campaign"),
        (f"/api/investments/{subjects['investment'].pk}/review/", INVESTMENT_WORDS, "investment"),
    ]


def _unchanged(subjects) -> None:
    assert Company.objects.get(pk=subjects["company"].pk).kyb_status == KybStatus.PENDING
    assert Campaign.objects.get(pk=subjects["campaign"].pk).status == "pending_review"
    assert Investment.objects.get(pk=subjects["investment"].pk).status == InvestmentStatus.HELD_FOR_REVIEW
    assert not ComplianceReview.objects.exists()


@pytest.mark.parametrize("word", NOT_DECISIONS, ids=repr)
def test_an_invalid_decision_lists_the_valid_ones_and_changes_nothing(auth_client, subjects, word):
    officer = auth_client("compliance")
    for url, valid, _subject in _review_urls(subjects):
        response = officer.post(url, {"decision": word, "notes": "n"}, format="json")
        assert response.status_code == 400, (url, response.json())
        body = response.json()
        assert body["code"] == "invalid_decision" and body["valid"] == valid, (url, body)
        assert body["message"] == f"The decision must be one of: {', '.join(valid)}."
        assert list(body["errors"]) == ["decision"]
    _unchanged(subjects)


def test_every_subject_takes_words_of_one_vocabulary(subjects):
    vocabulary = set(ReviewDecision.values)
    assert set(COMPANY_WORDS) | set(CAMPAIGN_WORDS) | set(INVESTMENT_WORDS) == vocabulary
    assert set(COMPANY_WORDS) <= set(CAMPAIGN_WORDS)  # a company and a campaign: the same words


@pytest.mark.chain
@pytest.mark.parametrize("word", ["approve", "reject"])
def test_companies_and_campaigns_take_the_same_words(contracts, auth_client, subjects, word):
    officer = auth_client("compliance")
    for url, _valid, subject in _review_urls(subjects)[:2]:
        response = officer.post(url, {"decision": word, "notes": "documents checked"}, format="json")
        assert response.status_code in (200, 202), (url, response.json())
        decisions = ComplianceReview.objects.filter(object_id=subjects[subject].pk).values_list(
            "decision", flat=True
        )
        assert word in decisions


def test_a_missing_decision_is_a_plain_required_field(auth_client, subjects):
    url = f"/api/issuers/{subjects['company'].pk}/review/"
    response = auth_client("compliance").post(url, {"notes": "n"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "required"
    _unchanged(subjects)


def test_the_services_answer_an_invalid_decision_the_same_way(subjects):
    officer = create_user("compliance")[0]
    with pytest.raises(InvalidDecision) as company_refusal:
        issuer_services.review_company(company=subjects["company"], officer=officer, decision="approved")
    assert company_refusal.value.code == "invalid_decision"
    assert company_refusal.value.extra["valid"] == COMPANY_WORDS
    with pytest.raises(InvalidDecision) as campaign_refusal:
        campaign_services.review_campaign(
            campaign=subjects["campaign"], officer=officer, decision="release", notes="n"
        )
    assert campaign_refusal.value.extra["valid"] == CAMPAIGN_WORDS
    _unchanged(subjects)
