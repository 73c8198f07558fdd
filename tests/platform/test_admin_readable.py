"""The admin reads like a product: its title, read-only pages without a Save row, amounts with their
currency, AML findings and chain data in words instead of JSON, links to IPFS, the explorer or the
admin's own transaction page, failure rows that lead to what they affect, and a member picker that
offers only eligible accounts."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.utils import timezone
from eth_account import Account

from audit.models import AuditEvent
from blockchain.models import ChainEvent, ReconcileReport, TxStatus
from campaigns.admin import describe_finding
from campaigns.aml import screen
from campaigns.models import (
    AMLAlert,
    Campaign,
    CampaignStatus,
    CountryRestriction,
    Investment,
    InvestmentStatus,
    SanctionedWallet,
)
from core.admin_tools import money
from devtools.processes import free_port
from issuers.models import Company, ComplianceReview
from issuers.services import review_company
from loans.models import LoanVerificationReport
from tests.platform.test_compliance_dashboard import make_campaign, make_company, make_tx
from tests.support.issuance import CID, approved_company
from tests.support.loans import make_loan

pytestmark = pytest.mark.django_db

TX_HASH = "0x" + "ab" * 32


@pytest.fixture
def logged_in(make_user):
    def make(role: str = "compliance") -> Client:
        user, _ = make_user(role)
        client = Client()
        client.force_login(user)
        client.user = user
        return client

    return make


@pytest.fixture
def issuer(make_user):
    return make_user("issuer")[0]


@pytest.fixture(autouse=True)
def no_explorer(settings):
    """Tests start on a dev chain without an explorer; those that need one set it."""
    settings.EXPLORER_TX_URL = ""
    settings.EXPLORER_ADDRESS_URL = ""


# --- the site --------------------------------------------------------------------------------------


def test_the_admin_is_titled_ledgerbridge(logged_in):
    page = logged_in().get("/admin/").content.decode()
    assert "<title>LedgerBridge administration | LedgerBridge admin</title>" in page
    assert '<a href="/admin/">LedgerBridge</a>' in page  # the header
    assert "Django administration" not in page


# --- read-only pages -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["compliance", "operator"])
def test_pages_of_rows_nobody_edits_have_no_save_row(role, logged_in, issuer, make_user):
    client = logged_in(role)
    company = make_company(issuer)
    campaign = make_campaign(issuer)
    investment = Investment.objects.create(
        investment_ref="0x" + uuid.uuid4().hex * 2,
        campaign=campaign,
        investor=make_user("investor")[0],
        investor_wallet=Account.create().address,
        amount=Decimal("500"),
        status=InvestmentStatus.HELD_FOR_REVIEW,
    )
    alert = AMLAlert.objects.create(investment=investment, rule="large_amount", score=60, details={})
    tx = make_tx(status=TxStatus.FAILED, tx_hash=TX_HASH, error_code="CapExceeded")
    event = ChainEvent.objects.create(
        chain_id=settings.CHAIN_ID,
        contract_address=Account.create().address,
        artifact="IssuerRegistry",
        event_name="IssuerRegistered",
        args={"issuer": company.wallet_address},
        block_number=7,
        block_hash="0x" + "11" * 32,
        tx_hash=TX_HASH,
        log_index=0,
    )
    audit = AuditEvent.objects.create(source="admin", action="admin:test", actor_label="someone")
    report = ReconcileReport.objects.create(
        chain_id=settings.CHAIN_ID, started_at=timezone.now(), finished_at=timezone.now()
    )
    review = ComplianceReview.objects.create(
        content_type=ContentType.objects.get_for_model(company),
        object_id=company.pk,
        officer=make_user("compliance")[0],
        decision="reject",
        notes="n",
        from_status="pending",
        to_status="rejected",
    )
    rows = [company, campaign, investment, alert, tx, event, audit, report, review]
    for obj in rows:
        url = f"/admin/{obj._meta.app_label}/{obj._meta.model_name}/{obj.pk}/change/"
        page = client.get(url)
        assert page.status_code == 200, url
        html = page.content.decode()
        assert 'name="_save"' not in html and 'name="_continue"' not in html, url
        assert "closelink" in html, url  # Django's read-only page: a Close link instead


# --- amounts and labels ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "currency", "shown"),
    [
        (Decimal("12000"), "USD", "12,000.00 USD"),
        (Decimal("12000.000000"), "USD", "12,000.00 USD"),
        (Decimal("0.5"), "EUR", "0.50 EUR"),
        (Decimal("1234567.125"), "USD", "1,234,567.125 USD"),  # nothing is rounded away
        ("250000", "USD", "250,000.00 USD"),
        (None, "USD", "—"),
    ],
)
def test_amounts_read_with_thousands_two_decimals_and_currency(value, currency, shown):
    assert money(value, currency) == shown


@pytest.mark.parametrize(
    ("rule", "details", "sentence"),
    [
        (
            "large_amount",
            {"amount": "12000", "threshold": "10000"},
            "12,000.00 USD in 1 investment, at or above the 10,000.00 USD threshold",
        ),
        ("velocity_count", {"count_24h": 6, "max": 5}, "6 investments within 24 h, more than the 5 allowed"),
        (
            "velocity_total",
            {"total_24h": "27000", "max": "25000"},
            "27,000.00 USD invested within 24 h, above the 25,000.00 USD limit",
        ),
        (
            "structuring",
            {"amounts_just_below_7d": 3, "band": ["9000.0", "10000"]},
            "3 investments within 7 days just below the 10,000.00 USD threshold "
            "(each between 9,000.00 USD and 10,000.00 USD)",
        ),
        (
            "sanctioned_wallet",
            {"wallet": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"},
            "The wallet 0x70997970C51812dc3A010C7d01b50e0d17dc79C8 is on the sanctions list",
        ),
        ("restricted_country", {"country": "CU"}, "The investor's country, Cuba (CU), is restricted"),
        # Details of another shape read as pairs, never as JSON.
        ("large_amount", {"amount_seen": "5"}, "amount seen: 5"),
        ("a_future_rule", {"peer_count": 4}, "peer count: 4"),
        ("large_amount", {}, "No details recorded."),
    ],
)
def test_aml_findings_read_as_sentences(rule, details, sentence):
    assert describe_finding(rule, details) == sentence


def test_an_investment_flagged_by_screening_reads_in_words(logged_in, issuer, make_user):
    """The alerts are what campaigns.aml.screen really stores, rendered on the investment's page."""
    investor = make_user("investor")[0]
    campaign = make_campaign(issuer, status=CampaignStatus.ACTIVE, title="Harbour Wind")
    wallet = Account.create().address
    SanctionedWallet.objects.create(address=wallet, source="test list")
    CountryRestriction.objects.create(country="CU")
    earlier = Investment.objects.create(
        investment_ref="0x" + uuid.uuid4().hex * 2,
        campaign=campaign,
        investor=investor,
        investor_wallet=wallet,
        amount=Decimal("15000"),
        status=InvestmentStatus.CONFIRMED,
    )
    flagged = Investment.objects.create(
        investment_ref="0x" + uuid.uuid4().hex * 2,
        campaign=campaign,
        investor=investor,
        investor_wallet=wallet,
        amount=Decimal("12000"),
        status=InvestmentStatus.HELD_FOR_REVIEW,
    )
    Investment.objects.filter(pk=earlier.pk).update(
        created_at=flagged.created_at - timezone.timedelta(hours=2)
    )
    hits = screen(flagged, country="CU")
    assert {h.rule for h in hits} == {
        "sanctioned_wallet",
        "large_amount",
        "velocity_total",
        "restricted_country",
    }
    for hit in hits:
        AMLAlert.objects.create(investment=flagged, rule=hit.rule, score=hit.score, details=hit.details)

    page = logged_in().get(f"/admin/campaigns/investment/{flagged.pk}/change/").content.decode()
    findings = page.split('id="aml-findings"')[1].split("</ul>")[0]
    assert (
        "<strong>Large Amount</strong> (score 60): 12,000.00 USD in 1 investment, at or above the "
        in findings
    )
    assert "10,000.00 USD threshold." in findings
    assert "27,000.00 USD invested within 24 h, above the 25,000.00 USD limit." in findings
    assert f"The wallet {wallet} is on the sanctions list." in findings
    assert "Cuba (CU), is restricted." in findings
    # No raw JSON of the details anywhere on the page (as stored, or HTML-escaped).
    assert '"threshold"' not in page and "&quot;threshold&quot;" not in page and "total_24h" not in page
    assert '<div class="readonly">12,000.00 USD</div>' in page  # the amount itself, with its currency


def test_campaign_amounts_and_statuses_read_with_currency_and_labels(logged_in, issuer):
    client = logged_in()
    campaign = make_campaign(issuer, title="Labelled Campaign")
    changelist = client.get("/admin/campaigns/campaign/").content.decode()
    assert "100,000.00 USD" in changelist and "250,000.00 USD" in changelist
    assert "Pending Review" in changelist and ">pending_review<" not in changelist
    page = client.get(f"/admin/campaigns/campaign/{campaign.pk}/change/").content.decode()
    for shown in ("100,000.00 USD", "250,000.00 USD", "500.00 USD", "10.00 USD", "0.00 USD"):
        assert shown in page
    assert "100000.000000" not in page


def test_review_history_shows_status_labels(logged_in, issuer, make_user):
    company = make_company(issuer)
    review_company(
        company=company, officer=make_user("compliance")[0], decision="reject", notes="Missing extract"
    )
    page = logged_in().get(f"/admin/issuers/company/{company.pk}/change/").content.decode()
    history = page.split('id="issuers-compliancereview-content_type-object_id-group"')[1]
    assert "Pending" in history and "Rejected" in history and "Missing extract" in history


@pytest.mark.parametrize("role", ["operator", "compliance"])
def test_loan_principals_read_with_their_currency(role, logged_in):
    make_loan(principal="2500000.5", currency="EUR")
    assert "2,500,000.50 EUR" in logged_in(role).get("/admin/loans/loan/").content.decode()


# --- links -----------------------------------------------------------------------------------------


def test_the_kyb_document_opens_through_the_configured_ipfs_gateway(logged_in, issuer, settings):
    client = logged_in()
    company = make_company(issuer)
    page = client.get(f"/admin/issuers/company/{company.pk}/change/").content.decode()
    assert f'href="https://ipfs.io/ipfs/{CID}"' in page  # the default gateway
    settings.IPFS_GATEWAY_URL = "https://gateway.example/ipfs/{cid}?download=false"
    page = client.get(f"/admin/issuers/company/{company.pk}/change/").content.decode()
    assert f'href="https://gateway.example/ipfs/{CID}?download=false"' in page


def test_hashes_and_addresses_link_to_the_explorer_when_one_is_configured(logged_in, issuer, settings):
    settings.EXPLORER_TX_URL = "https://explorer.example/tx/{tx_hash}"
    settings.EXPLORER_ADDRESS_URL = "https://explorer.example/address/{address}"
    company = make_company(issuer)
    Company.objects.filter(pk=company.pk).update(registered_tx_hash=TX_HASH)
    page = logged_in().get(f"/admin/issuers/company/{company.pk}/change/").content.decode()
    assert f'href="https://explorer.example/tx/{TX_HASH}"' in page
    assert f'href="https://explorer.example/address/{company.wallet_address}"' in page


def test_without_an_explorer_hashes_link_to_the_admin_transaction_page(logged_in, issuer):
    company = make_company(issuer)
    Company.objects.filter(pk=company.pk).update(registered_tx_hash=TX_HASH)
    page = logged_in().get(f"/admin/issuers/company/{company.pk}/change/").content.decode()
    assert f'href="/admin/blockchain/chaintransaction/tx/{TX_HASH}/"' in page
    assert company.wallet_address in page and "/address/" not in page  # addresses stay plain text


def test_the_transaction_page_shows_what_the_platform_stored_when_the_node_is_down(
    logged_in, issuer, settings
):
    dead_node = f"http://127.0.0.1:{free_port()}/secret-path?apikey=do-not-show"
    settings.CHAIN_RPC_URL = dead_node
    campaign = make_campaign(issuer, title="Failed Campaign")
    tx = make_tx(
        status=TxStatus.FAILED,
        tx_hash=TX_HASH,
        error_code="CapExceeded",
        error={"cap": "250000"},
        args=["LN-7", 5],
        content_type=ContentType.objects.get_for_model(Campaign),
        object_id=campaign.pk,
    )
    ChainEvent.objects.create(
        chain_id=settings.CHAIN_ID,
        contract_address="0x5FbDB2315678afecb367f032d93F642f64180aa3",
        artifact="LoanRegistry",
        event_name="LoanStored",
        args={"loanId": "LN-7", "lender": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"},
        block_number=42,
        block_hash="0x" + "22" * 32,
        tx_hash=TX_HASH,
        log_index=3,
    )
    response = logged_in().get(f"/admin/blockchain/chaintransaction/tx/{TX_HASH}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f"<h1>Transaction {TX_HASH}</h1>" in page
    assert f'href="/admin/blockchain/chaintransaction/{tx.pk}/change/"' in page
    assert f'href="/admin/campaigns/campaign/{campaign.pk}/change/"' in page  # what it was for
    assert "CapExceeded" in page and "<strong>cap</strong>: 250000" in page
    events = page.split('id="tx-events"')[1].split('id="tx-node"')[0]
    assert "LoanStored" in events and "<strong>loanId</strong>: LN-7" in events and "(block 42)" in events
    assert 'id="node-unreachable"' in page
    for secret in ("secret-path", "do-not-show", dead_node.split("/secret")[0]):
        assert secret not in page


def test_the_transaction_page_is_for_staff_who_may_read_the_outbox(make_user):
    client = Client()
    client.force_login(make_user("issuer")[0])
    response = client.get(f"/admin/blockchain/chaintransaction/tx/{TX_HASH}/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    staff = Client()
    staff.force_login(make_user("compliance")[0])
    assert staff.get("/admin/blockchain/chaintransaction/tx/0xnot-a-hash/").status_code == 404


@pytest.mark.chain
def test_the_transaction_page_shows_the_nodes_receipt_decoded(contracts, logged_in, make_user):
    company = approved_company(owner=make_user("issuer")[0], officer=make_user("compliance")[0])
    assert company.registered_tx_hash
    page = logged_in().get(f"/admin/blockchain/chaintransaction/tx/{company.registered_tx_hash}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert f'href="/admin/issuers/company/{company.pk}/change/"' in html
    assert "IssuerRegistered" in html.split('id="tx-events"')[1].split('id="tx-node"')[0]
    node = html.split('id="tx-node"')[1]
    assert '<td id="node-result">Succeeded</td>' in node
    assert "IssuerRegistered" in node.split('id="node-events"')[1]
    assert company.wallet_address in node
    assert settings.CHAIN_RPC_URL not in html
    # Each attempt's first broadcast (the stuck clock's start) and last (the re-broadcast clock's).
    attempts = html.split('id="tx-attempts"')[1].split("</table>")[0]
    assert "First broadcast" in attempts and "Last broadcast" in attempts
    assert "—" not in attempts.split("<tbody>")[1]


# --- the dashboard's failure rows ------------------------------------------------------------------


def test_dashboard_failures_link_to_the_object_they_affect(logged_in, issuer, monkeypatch):
    monkeypatch.setattr("blockchain.selectors.cached_head", lambda: None)
    monkeypatch.setattr("blockchain.state.cached_signer_balance", lambda: None)
    campaign = make_campaign(issuer, status=CampaignStatus.APPROVED, title="Deploy Failed")
    make_tx(
        status=TxStatus.FAILED,
        tx_hash=TX_HASH,
        error_code="CampaignExists",
        failed_at=timezone.now(),
        content_type=ContentType.objects.get_for_model(Campaign),
        object_id=campaign.pk,
    )
    loan = make_loan()
    LoanVerificationReport.objects.create(
        scope="sample",
        requested=1,
        triggered_by="beat",
        chain_id=settings.CHAIN_ID,
        started_at=timezone.now(),
        finished_at=timezone.now(),
        checked=1,
        mismatched=1,
        mismatches=[{"loan_id": loan.loan_id, "problems": ["hash differs"]}],
    )
    page = logged_in().get("/admin/dashboard/").content.decode()
    failures = page.split('id="outbox-failures"')[1].split("</table>")[0]
    assert (
        f'<a href="/admin/campaigns/campaign/{campaign.pk}/change/">campaign #{campaign.pk}</a>' in failures
    )
    mismatches = page.split('id="verification-mismatches"')[1]
    assert f'<a href="/admin/loans/loan/{loan.pk}/change/"><code>{loan.loan_id}</code></a>' in mismatches


# --- the institution member widget ------------------------------------------------------------------


def test_the_member_picker_offers_no_investors(logged_in, make_user):
    operator = logged_in("operator")
    investor = make_user("investor", username="an-investor")[0]
    staff = make_user("institution", username="a-registrar")[0]
    page = operator.get("/admin/credentials/institution/add/")
    assert page.status_code == 200
    members = page.context["adminform"].form.fields["members"].queryset
    assert staff in members and investor not in members
    html = page.content.decode()
    assert ">a-registrar</option>" in html and ">an-investor</option>" not in html
