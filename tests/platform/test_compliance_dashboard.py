"""The compliance dashboard in the admin: who may open it, what each section counts and links to,
a bounded number of queries, and no dependence on a reachable chain node."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from eth_account import Account

from accounts.models import User
from blockchain.models import ChainSyncState, ChainTransaction, ReconcileReport, TxStatus, WatchedContract
from campaigns.models import AMLAlert, Campaign, CampaignStatus, Investment, InvestmentStatus
from devtools.processes import free_port
from issuers.models import Company, KybStatus, RegistrationStatus
from loans.models import LoanVerificationReport
from tests.support.issuance import CID

pytestmark = pytest.mark.django_db

URL = "/admin/dashboard/"
_numbers = itertools.count(1)


def _ago(**delta) -> datetime:
    return timezone.now() - timedelta(**delta)


def _backdate(obj, **delta) -> None:
    """auto_now_add fields cannot be set on create; queue ages are set afterwards."""
    type(obj).objects.filter(pk=obj.pk).update(created_at=_ago(**delta))


def make_company(owner: User, *, approved: bool = False, name: str | None = None) -> Company:
    n = next(_numbers)
    return Company.objects.create(
        owner=owner,
        legal_name=name or f"Company {n} GmbH",
        registration_number=f"HRB {n:06d}",
        country="DE",
        wallet_address=Account.create().address,
        document_cid=CID,
        kyb_status=KybStatus.APPROVED if approved else KybStatus.PENDING,
        registration_status=RegistrationStatus.REGISTERED if approved else RegistrationStatus.NOT_REQUESTED,
    )


def make_campaign(owner: User, *, status: str = CampaignStatus.PENDING_REVIEW, title: str = "Series A"):
    starts = timezone.now() + timedelta(hours=1)
    return Campaign.objects.create(
        campaign_ref="0x" + uuid.uuid4().hex * 2,
        issuer=make_company(owner, approved=True),
        created_by=owner,
        title=title,
        goal=Decimal("100000"),
        hard_cap=Decimal("250000"),
        min_investment=Decimal("500"),
        share_price=Decimal("10"),
        starts_at=starts,
        ends_at=starts + timedelta(days=30),
        status=status,
        submitted_at=timezone.now() if status == CampaignStatus.PENDING_REVIEW else None,
        contract_address=Account.create().address if status == CampaignStatus.ACTIVE else "",
    )


def make_investment(campaign: Campaign, investor: User, *, status: str, rules: list[str]) -> Investment:
    investment = Investment.objects.create(
        investment_ref="0x" + uuid.uuid4().hex * 2,
        campaign=campaign,
        investor=investor,
        investor_wallet=Account.create().address,
        amount=Decimal("20000"),
        status=status,
    )
    for score, rule in enumerate(rules, start=60):
        AMLAlert.objects.create(investment=investment, rule=rule, score=score, details={})
    return investment


def make_tx(*, status: str = TxStatus.QUEUED, tx_hash: str = "", **fields) -> ChainTransaction:
    return ChainTransaction.objects.create(
        kind="loans.store_loan",
        idempotency_key=f"dashboard-test:{uuid.uuid4().hex}",
        chain_id=settings.CHAIN_ID,
        contract_name="LoanRegistry",
        contract_address="0x5FbDB2315678afecb367f032d93F642f64180aa3",
        function="storeLoan",
        calldata=b"",
        status=status,
        tx_hash=tx_hash,
        **fields,
    )


@pytest.fixture
def cached_chain(monkeypatch):
    """What the confirmer last cached: head 130, a signer with 0.1 native (below the 0.5 default)."""
    monkeypatch.setattr("blockchain.selectors.cached_head", lambda: 130)
    balance = {"address": Account.create().address, "wei": 10**17, "at": timezone.now().isoformat()}
    monkeypatch.setattr("blockchain.state.cached_signer_balance", lambda: balance)
    return balance


@pytest.fixture
def no_cached_chain(monkeypatch):
    monkeypatch.setattr("blockchain.selectors.cached_head", lambda: None)
    monkeypatch.setattr("blockchain.state.cached_signer_balance", lambda: None)


@pytest.fixture
def staff_client(make_user):
    def make(role: str = "compliance") -> Client:
        user, _ = make_user(role)
        client = Client()
        client.force_login(user)
        client.user = user
        return client

    return make


@pytest.fixture
def seeded(make_user):
    """Two companies awaiting KYB, two campaigns and two investments awaiting review (with alerts),
    and rows that must not be counted: an approved company, an active campaign, a released
    investment with an alert."""
    issuer, _ = make_user("issuer")
    investor, _ = make_user("investor")
    old_company = make_company(issuer, name="Oldest Robotics GmbH")
    _backdate(old_company, days=3)
    make_company(issuer, name="Newer Foods AG")
    make_company(issuer, approved=True, name="Approved Already SE")
    first = make_campaign(issuer, title="Series A for solar")
    Campaign.objects.filter(pk=first.pk).update(submitted_at=_ago(days=2))
    make_campaign(issuer, title="Seed round for bikes")
    live = make_campaign(issuer, status=CampaignStatus.ACTIVE, title="Live campaign")
    held_large = make_investment(
        live, investor, status=InvestmentStatus.HELD_FOR_REVIEW, rules=["large_amount", "structuring"]
    )
    make_investment(live, investor, status=InvestmentStatus.HELD_FOR_REVIEW, rules=["large_amount"])
    make_investment(live, investor, status=InvestmentStatus.CONFIRMED, rules=["velocity_count"])
    return {"old_company": old_company, "first_campaign": first, "held": held_large}


def test_anonymous_visitors_are_sent_to_the_admin_login():
    response = Client().get(URL)
    assert response.status_code == 302
    assert (
        response["Location"].startswith("/admin/login/") and "next=/admin/dashboard/" in response["Location"]
    )


def test_staff_outside_the_review_groups_are_refused(make_user):
    user, _ = make_user("investor")
    client = Client()
    client.force_login(user)
    assert client.get(URL).status_code == 302  # not staff: the admin's own login redirect
    User.objects.filter(pk=user.pk).update(is_staff=True)  # staff, but in no review group
    assert client.get(URL).status_code == 403
    index = client.get("/admin/")
    assert index.status_code == 200 and URL.encode() not in index.content


@pytest.mark.parametrize("role", ["compliance", "operator"])
def test_compliance_officers_and_operators_open_it_from_the_admin_index(role, staff_client, no_cached_chain):
    client = staff_client(role)
    index = client.get("/admin/")
    assert index.status_code == 200 and f'href="{URL}"'.encode() in index.content
    assert b"app-campaigns" in index.content  # the app list is still there
    response = client.get(URL)
    assert response.status_code == 200
    assert b"Compliance dashboard" in response.content
    assert response.templates[0].name == "admin/compliance_dashboard.html"


def test_superusers_open_it(no_cached_chain):
    admin_user = User.objects.create_superuser("root", "root@example.test", "pw-not-used")
    client = Client()
    client.force_login(admin_user)
    assert client.get(URL).status_code == 200


def test_an_empty_platform_renders_every_section(staff_client, no_cached_chain):
    response = staff_client().get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    for section in ("queue-companies", "queue-campaigns", "queue-investments", "aml-alerts", "chain-sync"):
        assert f'id="{section}"' in page
    assert page.count("Nothing waiting.") == 3
    assert "No open alerts." in page
    assert "the indexer has not run yet" in page
    assert "No failed transactions." in page
    assert "No reconcile has run on this chain yet." in page
    assert "No loan verification has run on this chain yet." in page


def test_review_queues_count_and_list_the_oldest_first_with_working_links(
    staff_client, seeded, no_cached_chain
):
    client = staff_client()
    response = client.get(URL)
    queues = {q.key: q for q in response.context["dashboard"]["queues"]}
    assert {k: q.count for k, q in queues.items()} == {"companies": 2, "campaigns": 2, "investments": 2}
    assert queues["companies"].rows[0].label == "Oldest Robotics GmbH"  # oldest first
    assert queues["companies"].oldest_at < timezone.now() - timedelta(days=2)
    assert queues["campaigns"].rows[0].label == "Series A for solar"
    assert "AML: Large Amount, Structuring" in queues["investments"].rows[0].detail  # rule labels
    assert queues["investments"].rows[0].label.startswith("20,000.00 USD in ")
    page = response.content.decode()
    assert 'data-count="2"' in page and "Approved Already SE" not in page
    assert "Live campaign" not in [row.label for row in queues["campaigns"].rows]
    assert f'href="/admin/campaigns/campaign/{seeded["first_campaign"].pk}/change/"' in page

    # Each queue link opens its changelist filtered to the same rows.
    campaigns = client.get(queues["campaigns"].url)
    assert queues["campaigns"].url == "/admin/campaigns/campaign/?status__exact=pending_review"
    assert campaigns.status_code == 200 and campaigns.context["cl"].result_count == 2
    companies = client.get(queues["companies"].url)
    assert companies.status_code == 200 and companies.context["cl"].result_count == 2
    investments = client.get(queues["investments"].url)
    assert investments.status_code == 200 and investments.context["cl"].result_count == 2


def test_open_aml_alerts_are_grouped_by_rule(staff_client, seeded, no_cached_chain):
    client = staff_client()
    alerts = {g.rule: g for g in client.get(URL).context["dashboard"]["alerts"]}
    # The confirmed investment's velocity_count alert is decided already: not open.
    assert {rule: (g.alerts, g.investments) for rule, g in alerts.items()} == {
        "large_amount": (2, 2),
        "structuring": (1, 1),
    }
    assert alerts["large_amount"].label == "Large Amount"
    structuring = client.get(alerts["structuring"].url)
    assert structuring.status_code == 200
    assert [i.pk for i in structuring.context["cl"].result_list] == [seeded["held"].pk]


def test_chain_sync_shows_the_cached_head_lag_cursors_and_a_low_signer_balance(staff_client, cached_chain):
    ChainSyncState.objects.create(
        chain_id=settings.CHAIN_ID, head=120, indexed_block=100, last_run_at=_ago(seconds=30)
    )
    registry = Account.create().address
    WatchedContract.objects.create(
        chain_id=settings.CHAIN_ID, address=registry, artifact="IssuerRegistry", start_block=1, next_block=101
    )
    for next_block in (90, 101):
        WatchedContract.objects.create(
            chain_id=settings.CHAIN_ID,
            address=Account.create().address,
            artifact="Campaign",
            start_block=50,
            next_block=next_block,
        )
    response = staff_client().get(URL)
    chain = response.context["dashboard"]["chain"]
    assert (chain["head"], chain["indexed_block"], chain["lag_blocks"]) == (130, 100, 30)
    cursors = {c.artifact: c for c in chain["cursors"]}
    assert (
        cursors["Campaign"].contracts,
        cursors["Campaign"].next_block,
        cursors["Campaign"].lag_blocks,
    ) == (
        2,
        90,
        41,
    )
    assert cursors["IssuerRegistry"].address == registry  # no explorer configured: the plain address
    assert chain["signer"]["low"] is True
    page = response.content.decode()
    assert 'id="signer-low"' in page and "0.1 ETH" in page
    assert cached_chain["address"] in page
    # Compliance has no admin view of watched contracts: no link that would end in a 403.
    assert chain["cursors_url"] is None and chain["url"] == "/admin/blockchain/chainsyncstate/"


def test_operators_get_the_links_their_permissions_allow(staff_client, no_cached_chain):
    chain = staff_client("operator").get(URL).context["dashboard"]["chain"]
    assert chain["cursors_url"] == "/admin/blockchain/watchedcontract/"


def test_outbox_health_counts_and_recent_failures_link_to_the_explorer(
    staff_client, no_cached_chain, settings
):
    settings.EXPLORER_TX_URL = "https://explorer.example/tx/{tx_hash}"
    settings.EXPLORER_ADDRESS_URL = "https://explorer.example/address/{address}"
    old = make_tx()
    ChainTransaction.objects.filter(pk=old.pk).update(created_at=_ago(minutes=20))
    make_tx()
    tx_hash = "0x" + "ab" * 32
    broadcast = make_tx(
        status=TxStatus.FAILED,
        tx_hash=tx_hash,
        error_code="LoanAlreadyStored",
        error={"loanId": "LN-7"},
        failed_at=_ago(minutes=1),
    )
    make_tx(status=TxStatus.FAILED, error_code="", last_error="insufficient funds", failed_at=_ago(minutes=5))

    response = staff_client().get(URL)
    outbox = response.context["dashboard"]["outbox"]
    counts = {row.status: row.count for row in outbox["by_status"]}
    assert counts["queued"] == 2 and counts["failed"] == 2 and counts["confirmed"] == 0
    assert outbox["oldest_queued_at"] < _ago(minutes=19)
    newest, older = outbox["failures"]
    assert (newest.id, newest.error_code, newest.error) == (
        broadcast.pk,
        "LoanAlreadyStored",
        '{"loanId": "LN-7"}',
    )
    assert (older.error_code, older.error, older.tx) == ("failed", "insufficient funds", "")
    page = response.content.decode()
    assert f'href="https://explorer.example/tx/{tx_hash}"' in page
    assert 'href="/admin/blockchain/chaintransaction/?status__exact=failed"' in page
    assert f'href="/admin/blockchain/chaintransaction/{broadcast.pk}/change/"' in page
    assert "not broadcast" in page


def test_without_an_explorer_tx_hashes_link_to_the_admin_transaction_page(
    staff_client, no_cached_chain, settings
):
    settings.EXPLORER_TX_URL = ""
    tx_hash = "0x" + "cd" * 32
    make_tx(status=TxStatus.FAILED, tx_hash=tx_hash, error_code="CapExceeded", failed_at=timezone.now())
    page = staff_client().get(URL).content.decode()
    assert f'href="/admin/blockchain/chaintransaction/tx/{tx_hash}/"' in page
    assert "explorer" not in page.split('id="outbox-failures"')[1]


def test_last_reconcile_and_loan_verification_with_their_drift(staff_client, no_cached_chain):
    now = timezone.now()
    ReconcileReport.objects.create(chain_id=settings.CHAIN_ID, started_at=now, finished_at=_ago(days=1))
    latest = ReconcileReport.objects.create(
        chain_id=settings.CHAIN_ID,
        started_at=now,
        finished_at=now,
        checked=40,
        drift_count=2,
        drift=[
            {"check": "events", "key": "0xaa:1", "cache": None, "chain": "x"},
            {"check": "campaigns", "key": "ref-9", "cache": "1", "chain": "2"},
        ],
    )
    ReconcileReport.objects.create(
        chain_id=settings.CHAIN_ID + 1, started_at=now, finished_at=now
    )  # other chain
    verification = LoanVerificationReport.objects.create(
        scope="sample",
        requested=10,
        triggered_by="beat",
        chain_id=settings.CHAIN_ID,
        started_at=now,
        finished_at=now,
        checked=10,
        matched=9,
        mismatched=1,
        mismatches=[{"loan_id": "LN-42", "problems": ["the chain holds a different hash for this loan id"]}],
    )
    response = staff_client().get(URL)
    drift = response.context["dashboard"]["drift"]
    assert drift["reconcile"] == latest and drift["verification"] == verification
    page = response.content.decode()
    assert 'id="reconcile-drift" data-count="2"' in page and "ref-9" in page
    assert f'href="/admin/blockchain/reconcilereport/{latest.pk}/change/"' in page
    assert 'id="verification-mismatches" data-count="1"' in page
    assert "LN-42" in page and "the chain holds a different hash" in page
    assert f'href="/admin/loans/loanverificationreport/{verification.pk}/change/"' in page


def test_the_query_count_does_not_grow_with_the_data(
    staff_client, seeded, make_user, cached_chain, django_assert_max_num_queries
):
    client = staff_client()
    client.get(URL)  # warm the per-process caches (content types) the admin uses
    with CaptureQueriesContext(connection) as few:
        assert client.get(URL).status_code == 200
    issuer, _ = make_user("issuer")
    investor, _ = make_user("investor")
    for _ in range(8):
        make_company(issuer)
        campaign = make_campaign(issuer)
        make_investment(campaign, investor, status=InvestmentStatus.HELD_FOR_REVIEW, rules=["large_amount"])
        make_tx(status=TxStatus.FAILED, tx_hash="0x" + uuid.uuid4().hex * 2, failed_at=timezone.now())
    # 25 today: session, user, group check, two permission reads, and a fixed set per section.
    with django_assert_max_num_queries(25):
        response = client.get(URL)
    assert response.context["dashboard"]["queues"][0].count == 10
    with CaptureQueriesContext(connection) as many:
        client.get(URL)
    assert len(many) == len(few)


def test_it_renders_from_the_database_when_the_chain_node_is_down(
    staff_client, no_cached_chain, settings, monkeypatch
):
    settings.CHAIN_RPC_URL = f"http://127.0.0.1:{free_port()}"

    def no_rpc(*args, **kwargs):
        raise AssertionError("the dashboard must not call the chain")

    monkeypatch.setattr("blockchain.chain.client.build_web3", no_rpc)
    monkeypatch.setattr("blockchain.chain.client.get_web3", no_rpc)
    ChainSyncState.objects.create(
        chain_id=settings.CHAIN_ID,
        head=500,
        indexed_block=480,
        last_run_at=_ago(minutes=10),
        last_error="ConnectionError: connection refused",
    )
    response = staff_client().get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Chain unavailable at the last indexer run: ConnectionError: connection refused" in page
    assert 'id="chain-head">500<' in page and 'id="chain-lag">20<' in page
    assert "not measured yet" in page
