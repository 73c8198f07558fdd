"""`Idempotency-Key` on unsafe methods (core/idempotency.py): replay, reuse, per-user scope, the lock,
expiry, the purge, and twenty concurrent investment POSTs against a real gunicorn."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection
from rest_framework_simplejwt.tokens import RefreshToken

from campaigns.models import Investment
from core import idempotency
from core.api import ChainUnavailable
from core.idempotency import purge_expired
from core.models import IdempotencyRecord, IdempotencyState
from core.tasks import purge_idempotency_records
from devtools.processes import ManagedProcess, free_port, port_is_open, wait_until
from loans.models import Loan
from tests.conftest import LOG_DIR, _database_url_for
from tests.investments.conftest import (  # noqa: F401 - fixtures
    client_of,
    kyc_institution,
    make_investor,
    officer,
    open_campaign,
)
from tests.support.loans import TERMS, new_loan_id

REPLAYED = "Idempotent-Replayed"


def post_loan(client, key: str | None, **body):
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    body.setdefault("loan_id", new_loan_id())
    return client.post("/api/loans/", {**TERMS, **body}, format="json", **headers)


def invest(client, campaign, amount, key: str):
    return client.post(
        f"/api/campaigns/{campaign.pk}/investments/",
        {"amount": str(amount)},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


@pytest.mark.django_db
def test_a_replayed_loan_post_answers_the_first_response_and_creates_nothing_new(auth_client):
    client = auth_client("operator")
    loan_id = new_loan_id()
    first = post_loan(client, "create-loan-1", loan_id=loan_id)
    assert first.status_code == 201, first.json()
    assert not first.has_header(REPLAYED)
    again = post_loan(client, "create-loan-1", loan_id=loan_id)
    assert again.status_code == 201
    assert again.content == first.content
    assert again["Content-Type"] == first["Content-Type"]
    assert again[REPLAYED] == "true"
    assert Loan.objects.filter(loan_id=loan_id).count() == 1
    record = IdempotencyRecord.objects.get(key="create-loan-1")
    assert record.state == IdempotencyState.COMPLETED and record.status_code == 201


@pytest.mark.django_db
def test_without_a_key_the_same_post_runs_twice(auth_client):
    client = auth_client("operator")
    first, second = post_loan(client, None), post_loan(client, None)
    assert first.status_code == second.status_code == 201
    assert first.json()["loan_id"] != second.json()["loan_id"]
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db
def test_the_same_key_with_a_different_body_is_422(auth_client):
    client = auth_client("operator")
    assert post_loan(client, "k-reused", loan_id=new_loan_id()).status_code == 201
    other_id = new_loan_id()
    reused = post_loan(client, "k-reused", loan_id=other_id)
    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency_key_reused" and reused.json()["message"]
    assert not Loan.objects.filter(loan_id=other_id).exists()


@pytest.mark.django_db
def test_the_same_key_on_another_path_or_query_is_422(auth_client):
    client = auth_client("operator")
    assert post_loan(client, "k-path", loan_id="LN-path-1").status_code == 201
    elsewhere = client.post(
        "/api/loans/?page=1", {**TERMS, "loan_id": "LN-path-1"}, format="json", HTTP_IDEMPOTENCY_KEY="k-path"
    )
    assert elsewhere.status_code == 422 and elsewhere.json()["code"] == "idempotency_key_reused"


@pytest.mark.django_db
def test_keys_are_scoped_per_user(auth_client):
    alice, bob = auth_client("operator"), auth_client("operator")
    mine = post_loan(alice, "shared-key", loan_id=new_loan_id())
    theirs = post_loan(bob, "shared-key", loan_id=new_loan_id())
    assert mine.status_code == theirs.status_code == 201
    assert not theirs.has_header(REPLAYED)
    assert mine.json()["loan_id"] != theirs.json()["loan_id"]
    assert IdempotencyRecord.objects.filter(key="shared-key").count() == 2
    # Each user's key replays that user's own first response.
    assert post_loan(bob, "shared-key", loan_id=theirs.json()["loan_id"])[REPLAYED] == "true"


@pytest.mark.django_db
def test_a_4xx_response_is_replayed_too(auth_client):
    client = auth_client("operator")
    body = {"loan_id": new_loan_id(), "principal": "-5.00"}
    first = post_loan(client, "bad-principal", **body)
    second = post_loan(client, "bad-principal", **body)
    assert first.status_code == second.status_code == 400
    assert second.content == first.content and second[REPLAYED] == "true"
    fixed = post_loan(client, "bad-principal", **{**body, "principal": "5.00"})
    assert fixed.status_code == 422  # a corrected request needs a new key, as with Stripe
    assert not Loan.objects.exists()


@pytest.mark.django_db
def test_a_5xx_is_not_stored_and_its_effect_is_rolled_back(auth_client, monkeypatch):
    from loans import services

    client = auth_client("operator")
    create_loan = services.create_loan

    def create_then_fail(**kwargs):
        create_loan(**kwargs)
        raise ChainUnavailable("The chain cannot be read right now; try again shortly.")

    monkeypatch.setattr(services, "create_loan", create_then_fail)
    loan_id = new_loan_id()
    failed = post_loan(client, "flaky", loan_id=loan_id)
    assert failed.status_code == 503
    assert not Loan.objects.filter(loan_id=loan_id).exists()  # rolled back with the attempt
    assert not IdempotencyRecord.objects.filter(key="flaky").exists(), "its claim rolled back with it"

    monkeypatch.setattr(services, "create_loan", create_loan)
    retried = post_loan(client, "flaky", loan_id=loan_id)
    assert retried.status_code == 201 and not retried.has_header(REPLAYED)
    assert Loan.objects.filter(loan_id=loan_id).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there", "bell\x07", "ünïcode"])
def test_malformed_keys_are_400(auth_client, key):
    client = auth_client("operator")
    response = post_loan(client, key, loan_id=new_loan_id())
    assert response.status_code == 400 and response.json()["code"] == "invalid_idempotency_key"
    assert not Loan.objects.exists()


@pytest.mark.django_db
def test_the_longest_key_and_any_printable_ascii_are_accepted(auth_client):
    client = auth_client("operator")
    for key in ("x" * 255, "a b~!{}:/=?"):
        assert post_loan(client, key, loan_id=new_loan_id()).status_code == 201


@pytest.mark.django_db
def test_safe_methods_and_anonymous_requests_are_not_deduplicated(auth_client, api_client):
    client = auth_client("operator")
    assert client.get("/api/loans/", HTTP_IDEMPOTENCY_KEY="read").status_code == 200
    anonymous = api_client.post("/api/loans/", TERMS, format="json", HTTP_IDEMPOTENCY_KEY="anon")
    assert anonymous.status_code == 401
    assert not IdempotencyRecord.objects.exists()


# The records' clock is set by the tests (core.idempotency.current_time), never read from the wall.
FIRST_ATTEMPT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def set_records_clock(monkeypatch, moment: datetime) -> None:
    monkeypatch.setattr(idempotency, "current_time", lambda: moment)


@pytest.mark.django_db
def test_an_expired_record_does_not_replay(auth_client, monkeypatch):
    client = auth_client("operator")
    body = {"loan_id": new_loan_id()}
    # The first attempt: its loan is made; 25 h later its record has expired, so the key counts as new.
    set_records_clock(monkeypatch, FIRST_ATTEMPT)
    assert post_loan(client, "old-key", **body).status_code == 201
    later = FIRST_ATTEMPT + timedelta(hours=25)
    set_records_clock(monkeypatch, later)
    again = post_loan(client, "old-key", **body)
    assert again.status_code == 400 and again.json()["code"] == "duplicate_loan_id"  # it ran again
    assert not again.has_header(REPLAYED)
    record = IdempotencyRecord.objects.get(key="old-key")
    assert record.status_code == 400 and record.created_at == later


@pytest.mark.django_db
def test_the_purge_removes_records_older_than_a_day(make_user, monkeypatch):
    user, _ = make_user("operator")
    now = FIRST_ATTEMPT
    set_records_clock(monkeypatch, now)

    def record(key: str, age: timedelta) -> None:
        IdempotencyRecord.objects.create(
            user=user, key=key, request_hash="0" * 64, method="POST", path="/api/x/", created_at=now - age
        )

    record("old", timedelta(hours=25))
    record("older", timedelta(days=3))
    record("fresh", timedelta(hours=23))
    assert purge_idempotency_records() == 2
    assert set(IdempotencyRecord.objects.values_list("key", flat=True)) == {"fresh"}
    assert purge_expired() == 0


def test_the_purge_is_on_the_beat_schedule():
    entry = settings.CELERY_BEAT_SCHEDULE["purge-idempotency-records"]
    assert entry["task"] == purge_idempotency_records.name


@pytest.mark.django_db
def test_the_schema_documents_the_header_on_unsafe_operations_only(auth_client):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/loans/"]
    names = {p["name"] for p in operation["post"].get("parameters", [])}
    assert "Idempotency-Key" in names and "422" in operation["post"]["responses"]
    assert "Idempotency-Key" not in {p["name"] for p in operation["get"].get("parameters", [])}


# --- investments (chain) ---------------------------------------------------------------------------


@pytest.mark.chain
@pytest.mark.django_db
def test_a_replayed_investment_post_invests_once(open_campaign, make_investor):  # noqa: F811
    campaign = open_campaign()
    user, client, _wallet = make_investor()
    first = invest(client, campaign, "100", key="invest-once")
    assert first.status_code == 202, first.json()
    again = invest(client, campaign, "100", key="invest-once")
    assert again.status_code == 202 and again[REPLAYED] == "true"
    assert again.content == first.content
    assert Investment.objects.filter(investor=user, campaign=campaign).count() == 1
    campaign.refresh_from_db()
    assert campaign.pending_amount == Decimal("100")


# --- a request still running (another connection) -------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_request_while_another_with_the_key_runs_is_409_in_progress(auth_client, monkeypatch):
    client = auth_client("operator")
    token = client._credentials["HTTP_AUTHORIZATION"]
    entered, release = threading.Event(), threading.Event()
    from loans import services as loan_services

    real_create = loan_services.create_loan

    def slow_create(**kwargs):
        entered.set()
        release.wait(timeout=30)
        return real_create(**kwargs)

    monkeypatch.setattr(loan_services, "create_loan", slow_create)
    loan_id = new_loan_id()
    first: dict = {}

    def first_request() -> None:
        try:
            from rest_framework.test import APIClient

            other = APIClient()
            other.credentials(HTTP_AUTHORIZATION=token)
            first["response"] = post_loan(other, "busy", loan_id=loan_id)
        finally:
            connection.close()

    runner = threading.Thread(target=first_request)
    runner.start()
    try:
        assert entered.wait(timeout=30), "the first request reached the service"
        monkeypatch.setattr(loan_services, "create_loan", real_create)
        busy = post_loan(client, "busy", loan_id=loan_id)
        assert busy.status_code == 409
        assert busy.json()["code"] == "idempotency_in_progress" and busy["Retry-After"] == "1"
    finally:
        release.set()
        runner.join(timeout=30)
    assert first["response"].status_code == 201
    again = post_loan(client, "busy", loan_id=loan_id)
    assert again.status_code == 201 and again[REPLAYED] == "true"
    assert Loan.objects.filter(loan_id=loan_id).count() == 1


# --- twenty concurrent POSTs against gunicorn --------------------------------------------------------


@pytest.fixture
def gunicorn_server(transactional_db):
    """The platform under gunicorn (2 workers × 4 threads) on the test database; yields its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url_for(connection.settings_dict),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "4",
        "GUNICORN_ACCESS_LOG": "/dev/null",
        "GUNICORN_LOG_LEVEL": "warning",
        "GUNICORN_MAX_REQUESTS": "0",
    }
    root = Path(settings.BASE_DIR)
    web = ManagedProcess(
        "idempotency-web",
        [
            str(root / ".venv" / "bin" / "python"),
            *("-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "config.wsgi:application"),
        ],
        env=env,
        cwd=root,
        log_path=LOG_DIR / "idempotency-gunicorn.log",
    ).start()
    try:
        wait_until(lambda: port_is_open("127.0.0.1", port), timeout=60, what="gunicorn", process=web)
        yield f"http://127.0.0.1:{port}"
    finally:
        web.stop()


@pytest.mark.chain
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_identical_investment_posts_make_one_investment(
    open_campaign,  # noqa: F811
    make_investor,  # noqa: F811
    gunicorn_server,
):
    campaign = open_campaign()
    user, _client, _wallet = make_investor()
    token = str(RefreshToken.for_user(user).access_token)
    url = f"{gunicorn_server}/api/campaigns/{campaign.pk}/investments/"
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "twenty-at-once"}
    start = threading.Barrier(20)
    responses: list[requests.Response] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def post() -> None:
        try:
            start.wait(timeout=30)
            response = requests.post(url, json={"amount": "100"}, headers=headers, timeout=60)
            with lock:
                responses.append(response)
        except BaseException as exc:  # reported below
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=post) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(responses) == 20

    assert Investment.objects.filter(investor=user, campaign=campaign).count() == 1
    executed = [r for r in responses if r.status_code == 202 and REPLAYED not in r.headers]
    replayed = [r for r in responses if r.status_code == 202 and r.headers.get(REPLAYED) == "true"]
    in_progress = [r for r in responses if r.status_code == 409]
    assert len(executed) == 1, [(r.status_code, r.text) for r in responses]
    assert len(executed) + len(replayed) + len(in_progress) == 20, [
        (r.status_code, r.text) for r in responses
    ]
    assert all(r.content == executed[0].content for r in replayed)
    assert all(
        r.json()["code"] == "idempotency_in_progress" and r.headers["Retry-After"] == "1" for r in in_progress
    )
    # A retry after the storm replays the one investment.
    retry = requests.post(url, json={"amount": "100"}, headers=headers, timeout=60)
    assert retry.status_code == 202 and retry.headers[REPLAYED] == "true"
    assert retry.json()["id"] == executed[0].json()["id"]
