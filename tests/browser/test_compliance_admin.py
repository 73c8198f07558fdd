"""A compliance officer in a real browser: log in to the admin, find a campaign in the dashboard's
review queue, approve it with notes through the admin action, and see the decision recorded."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import override_settings
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait

from audit.models import AuditEvent
from blockchain.models import ChainTransaction, TxStatus
from campaigns.models import Campaign, CampaignStatus
from campaigns.onchain.intents import CREATE_KIND
from issuers.models import ComplianceReview
from tests.support.issuance import draft_campaign, registered_company
from tests.support.outbox import settle_outbox

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery-9"
NOTES = "Prospectus, terms and issuer KYB checked"


def _wait_for(browser, css: str, timeout: float = 20):
    return WebDriverWait(browser, timeout).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css))
    )


def _submit_and_wait(browser, element, css_on_next_page: str):
    """Click a submitting element, then wait for the next document (the old one goes stale)."""
    marker = browser.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(browser, 20).until(expected_conditions.staleness_of(marker))
    return _wait_for(browser, css_on_next_page)


@pytest.fixture
def pending_campaign(contracts, auth_client) -> Campaign:
    """A campaign of a registered company, submitted by its issuer and waiting for compliance."""
    issuer = auth_client("issuer")
    company = registered_company(issuer, auth_client("compliance"), legal_name="Solar Panels Ltd")
    campaign = draft_campaign(issuer, company["id"], title="Rooftop Solar Series A")
    submitted = issuer.post(f"/api/campaigns/{campaign['id']}/submit/")
    assert submitted.status_code == 200 and submitted.json()["status"] == "pending_review", submitted.json()
    return Campaign.objects.get(pk=campaign["id"])


@override_settings(EXPLORER_TX_URL="https://explorer.example/tx/{tx_hash}")
def test_a_compliance_officer_approves_a_campaign_from_the_dashboard(
    pending_campaign, make_user, live_server, browser
):
    officer, _ = make_user("compliance", username="officer", password=PASSWORD)

    # Log in; the admin index links to the dashboard.
    browser.get(f"{live_server.url}/admin/login/?next=/admin/")
    browser.find_element(By.ID, "id_username").send_keys("officer")
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    link = _submit_and_wait(
        browser, browser.find_element(By.CSS_SELECTOR, "input[type=submit]"), "#compliance-dashboard-link a"
    )

    # The dashboard's review queue lists the campaign.
    queue = _submit_and_wait(browser, link, "#queue-campaigns")
    assert queue.find_element(By.CSS_SELECTOR, ".count").get_attribute("data-count") == "1"
    assert "Rooftop Solar Series A" in queue.text and "Solar Panels Ltd" in queue.text

    # Its link opens the campaign changelist, filtered to the campaigns pending review.
    _submit_and_wait(browser, queue.find_element(By.CSS_SELECTOR, "caption a.section"), "#changelist")
    assert "status__exact=pending_review" in browser.current_url
    browser.find_element(By.CSS_SELECTOR, f'input.action-select[value="{pending_campaign.pk}"]').click()
    Select(browser.find_element(By.NAME, "action")).select_by_value("approve")

    # The action asks for notes first, then applies the decision.
    notes = _submit_and_wait(browser, browser.find_element(By.NAME, "index"), "#id_notes")
    assert "Rooftop Solar Series A" in browser.find_element(By.ID, "content").text
    notes.send_keys(NOTES)
    success = _submit_and_wait(
        browser,
        browser.find_element(By.CSS_SELECTOR, 'input[type=submit][value="Approve"]'),
        ".messagelist .success",
    )
    assert success.text == "1 campaign(s) approved; deployment requested."

    # The decision is recorded: the change page's review history shows it.
    browser.get(f"{live_server.url}/admin/campaigns/campaign/{pending_campaign.pk}/change/")
    history = _wait_for(browser, "#issuers-compliancereview-content_type-object_id-group")
    assert NOTES in history.text and "officer" in history.text and "approve" in history.text

    # And in the database: an append-only review by this officer; the campaign is being deployed.
    review = ComplianceReview.objects.get(
        content_type=ContentType.objects.get_for_model(Campaign), object_id=pending_campaign.pk
    )
    assert (review.officer, review.decision, review.notes) == (officer, "approve", NOTES)
    assert (review.from_status, review.to_status) == (CampaignStatus.PENDING_REVIEW, CampaignStatus.APPROVED)
    campaign = Campaign.objects.get(pk=pending_campaign.pk)
    assert campaign.status == CampaignStatus.DEPLOYING and campaign.approved_at is not None
    deployment = ChainTransaction.objects.get(kind=CREATE_KIND, object_id=campaign.pk)
    assert deployment.status == TxStatus.QUEUED
    # The audit log has the admin action: who, what, the status change and the deployment it queued.
    event = AuditEvent.objects.get(source="admin", action__endswith=":approve", actor=officer)
    assert (event.role, event.subject_type, event.subject_id) == (
        "compliance",
        "campaigns.campaign",
        str(campaign.pk),
    )
    status_change = next(c for c in event.changes if c["model"] == "campaigns.campaign")
    assert status_change["fields"]["status"] == [CampaignStatus.PENDING_REVIEW, CampaignStatus.DEPLOYING]
    assert event.outbox_ids == [deployment.pk]

    # Once the outbox has deployed it, the campaign is live with an explorer link to its creation tx.
    settle_outbox()
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.ACTIVE and campaign.contract_address
    browser.get(f"{live_server.url}/admin/campaigns/campaign/{pending_campaign.pk}/change/")
    tx_link = _wait_for(browser, f'a[href="https://explorer.example/tx/{campaign.created_tx_hash}"]')
    assert tx_link.text == campaign.created_tx_hash

    # The dashboard's queue is empty again.
    browser.get(f"{live_server.url}/admin/dashboard/")
    queue = _wait_for(browser, "#queue-campaigns")
    assert queue.find_element(By.CSS_SELECTOR, ".count").get_attribute("data-count") == "0"
    assert "Nothing waiting." in queue.text
