"""The compliance admin in a real browser: decisions from an object's own page (approve a company,
reject a campaign with notes), the AML view of a flagged investment in words, the admin's own
transaction page on a chain without an explorer, and read-only pages without a Save button."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from eth_account import Account
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from blockchain.models import ChainTransaction
from campaigns.aml import screen
from campaigns.models import AMLAlert, CampaignStatus, CountryRestriction, Investment, InvestmentStatus
from issuers.models import ComplianceReview, KybStatus, RegistrationStatus
from issuers.onchain.intents import REGISTER_KIND
from tests.platform.test_compliance_dashboard import make_campaign, make_company
from tests.support.outbox import settle_outbox

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct-horse-battery-9"


def _wait_for(browser, css: str, timeout: float = 20):
    return WebDriverWait(browser, timeout).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css))
    )


def _click_and_wait(browser, element, css_on_next_page: str):
    """Click a link or button that loads a page, then wait for the new document."""
    marker = browser.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(browser, 20).until(expected_conditions.staleness_of(marker))
    WebDriverWait(browser, 20).until(lambda b: b.execute_script("return document.readyState") == "complete")
    return _wait_for(browser, css_on_next_page)


def _sign_in(browser, live_server, username: str, *, next_url: str) -> None:
    browser.get(f"{live_server.url}/admin/login/?next={next_url}")
    browser.find_element(By.ID, "id_username").send_keys(username)
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    _click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "input[type=submit]"), "#content")
    # The login answers with a redirect: wait for the page it leads to, not the one on the way.
    WebDriverWait(browser, 20).until(lambda b: "/admin/login/" not in b.current_url)
    _wait_for(browser, "#content")


def _no_save_button(browser) -> bool:
    return not browser.find_elements(By.NAME, "_save") and not browser.find_elements(By.NAME, "_continue")


@pytest.fixture(autouse=True)
def dev_chain_without_explorer(settings):
    settings.EXPLORER_TX_URL = ""
    settings.EXPLORER_ADDRESS_URL = ""


@pytest.mark.chain
def test_a_compliance_officer_approves_a_company_from_its_page(contracts, make_user, live_server, browser):
    issuer, _ = make_user("issuer")
    company = make_company(issuer, name="Harbour Robotics GmbH")
    make_user("compliance", username="officer", password=PASSWORD)
    _sign_in(browser, live_server, "officer", next_url="/admin/issuers/company/?queue=pending")

    # The review queue lists the company; its page shows the KYB document link and the decisions.
    link = browser.find_element(By.LINK_TEXT, "Harbour Robotics GmbH")
    approve = _click_and_wait(browser, link, "#decide-approve")
    assert browser.find_element(By.ID, "kyb-document").get_attribute("href") == (
        f"https://ipfs.io/ipfs/{company.document_cid}"
    )
    assert _no_save_button(browser)  # decisions, not edits

    success = _click_and_wait(browser, approve, ".messagelist .success")
    assert (
        success.text == "Company “Harbour Robotics GmbH” approved; its registration on chain was requested."
    )
    assert not browser.find_elements(By.ID, "decisions")  # decided: nothing more to decide here
    company.refresh_from_db()
    assert company.kyb_status == KybStatus.APPROVED and company.reviewed_by.username == "officer"
    assert ComplianceReview.objects.get(object_id=company.pk).decision == "approve"
    assert ChainTransaction.objects.filter(kind=REGISTER_KIND, object_id=company.pk).count() == 1

    # Once registered, its transaction opens on the admin's own page (no explorer on a dev chain).
    settle_outbox()
    company.refresh_from_db()
    assert company.registration_status == RegistrationStatus.REGISTERED
    browser.refresh()
    tx_link = _wait_for(browser, f'a.tx-page[href$="/tx/{company.registered_tx_hash}/"]')
    result = _click_and_wait(browser, tx_link, "#node-result")
    assert result.text == "Succeeded"
    assert "IssuerRegistered" in browser.find_element(By.ID, "tx-events").text
    assert "IssuerRegistered" in browser.find_element(By.ID, "node-events").text
    assert settings.CHAIN_RPC_URL not in browser.page_source


def test_a_compliance_officer_rejects_a_campaign_with_notes_from_its_page(make_user, live_server, browser):
    issuer, _ = make_user("issuer")
    campaign = make_campaign(issuer, title="Rooftop Solar Series A")
    make_user("compliance", username="officer", password=PASSWORD)
    _sign_in(browser, live_server, "officer", next_url=f"/admin/campaigns/campaign/{campaign.pk}/change/")

    # Amounts read with their currency; the status with its label.
    content = browser.find_element(By.ID, "content").text
    assert "100,000.00 USD" in content and "Pending Review" in content

    # Reject opens a page titled after the decision, asking for the notes the issuer will read.
    notes = _click_and_wait(browser, browser.find_element(By.ID, "decide-reject"), "#id_notes")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Reject: campaign “Rooftop Solar Series A”"
    assert browser.title.startswith("Reject: campaign “Rooftop Solar Series A”")
    notes.send_keys("The projections are not substantiated.")
    success = _click_and_wait(
        browser, browser.find_element(By.ID, "confirm-decision"), ".messagelist .success"
    )
    assert (
        success.text
        == "Campaign “Rooftop Solar Series A” rejected; the issuer sees your notes as the reason."
    )

    # Back on the campaign's page: cancelled, and the history shows who decided what, and why.
    history = browser.find_element(By.ID, "issuers-compliancereview-content_type-object_id-group").text
    assert "The projections are not substantiated." in history and "officer" in history
    assert "Pending Review" in history and "Cancelled" in history
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.CANCELLED
    assert campaign.cancellation_reason == "The projections are not substantiated."


def test_an_operator_sees_no_decisions_and_cannot_take_one(make_user, live_server, browser):
    issuer, _ = make_user("issuer")
    company = make_company(issuer, name="Operator Proof AG")
    make_user("operator", username="ops", password=PASSWORD)
    _sign_in(browser, live_server, "ops", next_url=f"/admin/issuers/company/{company.pk}/change/")
    assert "Operator Proof AG" in browser.find_element(By.ID, "content").text
    assert not browser.find_elements(By.ID, "decisions") and _no_save_button(browser)

    # Typing the decision's address does not help: an error, and the company is unchanged.
    browser.get(f"{live_server.url}/admin/issuers/company/{company.pk}/decide/reject/")
    error = _wait_for(browser, ".messagelist .error")
    assert error.text == "“Reject KYB” is for compliance officers only: Operator Proof AG was not changed."
    company.refresh_from_db()
    assert company.kyb_status == KybStatus.PENDING
    assert not ComplianceReview.objects.filter(object_id=company.pk).exists()


def test_the_aml_view_of_a_flagged_investment_reads_in_words(make_user, live_server, browser):
    issuer, _ = make_user("issuer")
    investor, _ = make_user("investor")
    campaign = make_campaign(issuer, status=CampaignStatus.ACTIVE, title="Harbour Wind")
    CountryRestriction.objects.create(country="CU")
    earlier = Investment.objects.create(
        investment_ref="0x" + uuid.uuid4().hex * 2,
        campaign=campaign,
        investor=investor,
        investor_wallet=Account.create().address,
        amount=Decimal("15000"),
        status=InvestmentStatus.CONFIRMED,
    )
    flagged = Investment.objects.create(
        investment_ref="0x" + uuid.uuid4().hex * 2,
        campaign=campaign,
        investor=investor,
        investor_wallet=earlier.investor_wallet,
        amount=Decimal("12000"),
        status=InvestmentStatus.HELD_FOR_REVIEW,
    )
    Investment.objects.filter(pk=earlier.pk).update(created_at=flagged.created_at - timedelta(hours=3))
    for hit in screen(flagged, country="CU"):  # what screening really stores
        AMLAlert.objects.create(investment=flagged, rule=hit.rule, score=hit.score, details=hit.details)
    make_user("compliance", username="officer", password=PASSWORD)
    _sign_in(browser, live_server, "officer", next_url="/admin/campaigns/investment/?queue=held")

    row = browser.find_element(By.CSS_SELECTOR, "#result_list tbody tr")
    assert "12,000.00 USD" in row.text and "Large Amount" in row.text  # amount and rule labels
    findings = _click_and_wait(browser, row.find_element(By.CSS_SELECTOR, "th a"), "#aml-findings")
    lines = [li.text for li in findings.find_elements(By.TAG_NAME, "li")]
    assert lines == [
        "Restricted Country (score 70): The investor's country, Cuba (CU), is restricted.",
        "Large Amount (score 60): 12,000.00 USD in 1 investment, at or above the 10,000.00 USD threshold.",
        "Velocity Total (score 50): 27,000.00 USD invested within 24 h, above the 25,000.00 USD limit.",
    ]
    assert "{" not in browser.find_element(By.ID, "content").text  # no JSON anywhere on the page
    # The decisions a held investment needs are on its page.
    assert browser.find_element(By.ID, "decide-release") and browser.find_element(By.ID, "decide-reject")


def test_a_chain_event_page_is_read_only(make_user, live_server, browser):
    from blockchain.models import ChainEvent

    event = ChainEvent.objects.create(
        chain_id=settings.CHAIN_ID,
        contract_address="0x5FbDB2315678afecb367f032d93F642f64180aa3",
        artifact="LoanRegistry",
        event_name="LoanStored",
        args={"loanId": "LN-7"},
        block_number=12,
        block_hash="0x" + "33" * 32,
        tx_hash="0x" + "44" * 32,
        log_index=0,
    )
    make_user("operator", username="ops", password=PASSWORD)
    _sign_in(browser, live_server, "ops", next_url=f"/admin/blockchain/chainevent/{event.pk}/change/")
    content = browser.find_element(By.ID, "content").text
    assert "loanId: LN-7" in content  # arguments in words, not JSON
    assert _no_save_button(browser) and browser.find_element(By.CSS_SELECTOR, "a.closelink")
