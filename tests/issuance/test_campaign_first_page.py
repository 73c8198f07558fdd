"""`GET /api/campaigns/` without a query string reads its first page in one precompiled statement
(`selectors.first_campaign_page`: rows, issuer, total, outbox rows) and shows each row with
`serializers.campaign_representation` instead of the queryset, paginator and ModelSerializer the
other pages use. The two must agree, byte for byte, for every kind of caller and campaign state, and
the count and links must be the paginator's. No chain needed: rows are written into the tables."""

from __future__ import annotations

import itertools
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from eth_account import Account
from rest_framework.test import APIClient

from blockchain.models import TxStatus
from campaigns.models import Campaign, CampaignStatus
from campaigns.onchain.intents import CREATE_KIND, FINALIZE_KIND
from core.api import StandardPagination
from issuers.models import Company
from tests.support.outbox import outbox_row
from tests.support.users import create_user, jwt_client

pytestmark = pytest.mark.django_db

_numbers = itertools.count(1)


def _hash() -> str:
    return "0x" + uuid.uuid4().hex * 2


def _company(owner) -> Company:
    return Company.objects.create(
        owner=owner,
        legal_name=f"First Page {next(_numbers)} AG",
        registration_number=f"FP-{uuid.uuid4().hex[:12]}",
        country="CH",
        wallet_address=Account.create().address,
        document_cid="QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG",
    )


def _campaign(company, status, **fields) -> Campaign:
    now = timezone.now()
    values = {
        "issuer": company,
        "title": f"Campaign {next(_numbers)}",
        "description": 'Ünïcode, "quotes" and\nlines',
        "goal": "1000.5",
        "hard_cap": "2000.123456",
        "min_investment": "10",
        "share_price": "0.000001",
        "starts_at": now - timedelta(days=1),
        "ends_at": now + timedelta(days=30),
        "status": status,
        **fields,
    }
    if status not in (CampaignStatus.DRAFT, CampaignStatus.PENDING_REVIEW):
        values.setdefault("contract_address", Account.create().address)
        values.setdefault("campaign_ref", _hash())
    else:
        values.setdefault("campaign_ref", _hash())
    return Campaign.objects.create(**values)


@pytest.fixture
def world():
    owner, _ = create_user("issuer")
    other_issuer, _ = create_user("issuer")

    # one company per campaign (a company has one campaign in progress at a time)
    def mine():
        return _company(owner)

    def theirs():
        return _company(other_issuer)

    deploying = _campaign(mine(), CampaignStatus.ACTIVE, raised="12.5", investor_count=3)
    outbox_row(deploying, CREATE_KIND, TxStatus.SENT)
    closing = _campaign(theirs(), CampaignStatus.SUCCESSFUL, closed_at=timezone.now())
    outbox_row(closing, CREATE_KIND, TxStatus.CONFIRMED, block_number=10)
    outbox_row(closing, FINALIZE_KIND, TxStatus.MINED, block_number=20)
    failed_tx = _campaign(mine(), CampaignStatus.ACTIVE)
    outbox_row(
        failed_tx,
        FINALIZE_KIND,
        TxStatus.FAILED,
        block_number=9,
        error_code="NotEnded",
        error={"a": [1, "b"]},
    )
    _campaign(mine(), CampaignStatus.DRAFT)
    _campaign(theirs(), CampaignStatus.PENDING_REVIEW, submitted_at=timezone.now())
    _campaign(mine(), CampaignStatus.CANCELLED, cancelled_at=timezone.now(), cancellation_reason="no")
    _campaign(theirs(), CampaignStatus.FAILED, closed_at=timezone.now())
    _campaign(mine(), CampaignStatus.ACTIVE, ends_at=timezone.now() + timedelta(hours=1))
    return {"owner": owner, "other_issuer": other_issuer}


def _callers(world) -> dict:
    investor, _ = create_user("investor")
    compliance, _ = create_user("compliance")
    operator, _ = create_user("operator")
    return {
        "anonymous": APIClient(),
        "owner": jwt_client(world["owner"]),
        "other issuer": jwt_client(world["other_issuer"]),
        "investor": jwt_client(investor),
        "compliance": jwt_client(compliance),
        "operator": jwt_client(operator),
    }


@pytest.mark.parametrize("size", [50, 3, 1])
def test_the_first_page_is_the_generic_paths(world, size, monkeypatch):
    """Byte for byte: the fast first page and the generic path (`?page=1` takes it) agree for every
    caller, also when the page is not the last (count, next link)."""
    monkeypatch.setattr(StandardPagination, "page_size", size)
    for name, client in _callers(world).items():
        fast = client.get("/api/campaigns/")
        generic = client.get("/api/campaigns/", {"page": "1"})
        assert fast.status_code == generic.status_code == 200, name
        assert fast.json()["results"], name
        # `?page=1`'s next link is `?page=2` as well, and neither has a previous one
        assert fast.content == generic.content, name


def test_the_count_and_next_link_are_the_paginators(world, monkeypatch):
    monkeypatch.setattr(StandardPagination, "page_size", 2)
    body = APIClient().get("/api/campaigns/").json()
    public = Campaign.objects.filter(status__in=[CampaignStatus.ACTIVE, CampaignStatus.SUCCESSFUL]).count()
    assert body["count"] == public and len(body["results"]) == 2
    assert body["next"] == "http://testserver/api/campaigns/?page=2" and body["previous"] is None


def test_an_empty_list_is_an_empty_first_page():
    body = APIClient().get("/api/campaigns/").json()
    assert body == {"count": 0, "next": None, "previous": None, "results": []}


def test_one_statement_for_an_anonymous_page(world):
    client = APIClient()
    client.get("/api/campaigns/")  # warm: content types, connection
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/campaigns/").status_code == 200
    assert len(queries.captured_queries) == 1, [q["sql"] for q in queries.captured_queries]


def test_query_parameters_keep_the_generic_path(world):
    client = APIClient()
    assert client.get("/api/campaigns/", {"bogus": "1"}).status_code == 400
    assert client.get("/api/campaigns/", {"page": "0"}).status_code == 400
    shown = client.get("/api/campaigns/", {"status": "closing"}).json()["results"]
    assert [row["status"] for row in shown] == ["closing"]


def test_other_databases_read_through_the_queryset(world, monkeypatch):
    """The one statement is PostgreSQL's (a window count, JSON aggregates); elsewhere (SQLite for
    `make run`) `first_campaign_page` reads through `campaigns_for`, with the same answer."""
    client = _callers(world)["owner"]
    expected = client.get("/api/campaigns/").content
    monkeypatch.setattr(connection, "vendor", "sqlite")
    assert client.get("/api/campaigns/").content == expected
