"""The audit log: every state-changing API call, admin action and data-changing command is one
append-only AuditEvent with actor, role, action, subject, IP, request id, field diffs and chain txs."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import call_command
from django.db import DatabaseError, transaction
from django.test import Client
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from audit.models import AuditEvent
from blockchain.models import ChainTransaction
from campaigns.models import SanctionedWallet
from loans.models import Loan
from tests.support.loans import TERMS, make_loan, new_loan_id
from tests.support.outbox import settle_outbox

pytestmark = pytest.mark.django_db


def _jwt_client(user, **headers) -> APIClient:
    client = APIClient(**headers)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.mark.chain
def test_api_write_is_audited_with_actor_ip_request_id_diff_and_tx_hash(contracts, make_user):
    operator, _ = make_user("operator")
    client = _jwt_client(operator, REMOTE_ADDR="203.0.113.7")
    loan_id = new_loan_id()

    created = client.post("/api/loans/", {"loan_id": loan_id, **TERMS}, format="json")
    assert created.status_code == 201, created.json()
    approved = client.post(f"/api/loans/{loan_id}/approve/", HTTP_X_REQUEST_ID="audit-req-0001")
    assert approved.status_code == 202, approved.json()
    assert approved["X-Request-ID"] == "audit-req-0001"

    event = AuditEvent.objects.get(request_id="audit-req-0001")
    loan = Loan.objects.get(loan_id=loan_id)
    assert (event.source, event.actor_id, event.actor_label, event.role) == (
        "api",
        operator.pk,
        operator.username,
        "operator",
    )
    assert (event.method, event.path, event.status_code) == ("POST", f"/api/loans/{loan_id}/approve/", 202)
    assert event.action == "loan-approve"
    assert (event.subject_type, event.subject_id) == ("loans.loan", str(Loan.objects.get(loan_id=loan_id).pk))
    assert event.ip == "203.0.113.7"
    loan_change = next(c for c in event.changes if c["model"] == "loans.loan" and c["op"] == "update")
    assert loan_change["fields"]["status"] == ["draft", loan.status]
    outbox = ChainTransaction.objects.get(kind="loans.store_loan", object_id=loan.pk)
    assert event.outbox_ids == [outbox.pk]

    # The related tx hash is the outbox row's, once sent: resolved when the log is read.
    settle_outbox()
    from audit.selectors import tx_hashes_by_outbox_id

    outbox.refresh_from_db()
    assert tx_hashes_by_outbox_id(event.outbox_ids) == {outbox.pk: outbox.tx_hash}
    assert outbox.tx_hash.startswith("0x")

    create_event = AuditEvent.objects.get(action="loan-list", subject_id=str(loan.pk))
    assert create_event.changes[0]["op"] == "create"
    assert create_event.changes[0]["fields"]["principal"] == [None, "250000.000000"]  # the column scale


@pytest.mark.chain
def test_refused_requests_and_reads_write_no_event(contracts, make_user):
    operator, _ = make_user("operator")
    investor, _ = make_user("investor")
    loan = make_loan()
    before = AuditEvent.objects.count()
    assert _jwt_client(operator).get("/api/loans/").status_code == 200
    assert _jwt_client(investor).post(f"/api/loans/{loan.loan_id}/approve/").status_code == 403
    assert _jwt_client(operator).post("/api/loans/", {"loan_id": "bad id!"}, format="json").status_code == 400
    # A POST that only reads: public verification.
    verified = APIClient().post("/api/blockchain/verify/", {"fingerprint": "0x" + "ab" * 32}, format="json")
    assert verified.status_code == 200
    assert AuditEvent.objects.count() == before


def test_login_and_registration_are_audited_without_the_password(make_user):
    user, password = make_user("investor")
    client = APIClient(REMOTE_ADDR="198.51.100.4")
    assert (
        client.post("/api/auth/token/", {"username": user.username, "password": password}).status_code == 200
    )
    login = AuditEvent.objects.get(action="auth-token")
    assert (login.actor_id, login.role, login.ip) == (user.pk, "investor", "198.51.100.4")
    assert set(login.changes[0]["fields"]) == {"last_login"}

    secret = "an-unusual-passphrase-77"
    response = client.post(
        "/api/auth/register/",
        {"username": "newcomer", "email": "n@example.test", "password": secret, "role": "investor"},
    )
    assert response.status_code == 201, response.json()
    signup = AuditEvent.objects.get(action="auth-register")
    user_row = next(c for c in signup.changes if c["model"] == "accounts.user")
    assert user_row["fields"]["password"] == [None, "[redacted]"]
    assert user_row["fields"]["username"] == [None, "newcomer"]
    assert secret not in str(signup.changes)
    assert "pbkdf2" not in str(signup.changes)  # not even the hash


def test_audit_events_are_append_only():
    event = AuditEvent.objects.create(source="api", action="probe")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="rewritten")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    event.refresh_from_db()
    assert event.action == "probe"


def test_a_data_changing_command_is_audited_with_the_os_user_and_options():
    call_command("create_user", "cmd-made", "--role", "compliance", stdout=io.StringIO())
    event = AuditEvent.objects.get(action__startswith="command:create_user")
    assert event.source == "command"
    assert event.actor_label  # the OS account that ran it
    assert "--role=compliance" in event.action and "--username=cmd-made" in event.action
    assert any(c["model"] == "accounts.user" and c["op"] == "create" for c in event.changes)
    assert event.outcome == ""


def test_a_failing_command_is_audited_with_its_error():
    from django.core.management.base import CommandError

    call_command("create_user", "twice", "--role", "operator", stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("create_user", "twice", "--role", "operator", stdout=io.StringIO())
    failed = AuditEvent.objects.filter(action__startswith="command:create_user").order_by("-id").first()
    assert failed.outcome.startswith("failed: CommandError")
    assert failed.changes == []


def staff_client(make_user, role: str):
    user, password = make_user(role)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client = Client()
    assert client.login(username=user.username, password=password)
    return user, client


@pytest.fixture
def compliance_staff(make_user):
    return staff_client(make_user, "compliance")


def test_admin_add_and_edit_are_audited_with_before_and_after(compliance_staff):
    officer, client = compliance_staff
    wallet = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
    added = client.post(
        "/admin/campaigns/sanctionedwallet/add/",
        {"address": wallet.lower(), "source": "OFAC SDN", "note": ""},
        REMOTE_ADDR="192.0.2.10",
    )
    assert added.status_code == 302, added.content[:3000]
    entry = SanctionedWallet.objects.get()
    edited = client.post(
        f"/admin/campaigns/sanctionedwallet/{entry.pk}/change/",
        {"address": wallet, "source": "EU list", "note": "", "_save": "Save"},
        REMOTE_ADDR="192.0.2.10",
    )
    assert edited.status_code == 302

    add_event, edit_event = AuditEvent.objects.filter(source="admin").order_by("id")
    assert add_event.action == "admin:campaigns_sanctionedwallet_add"
    assert add_event.changes[0]["fields"]["address"] == [None, wallet]  # as stored: checksummed
    assert edit_event.action == "admin:campaigns_sanctionedwallet_change"
    assert (edit_event.subject_type, edit_event.subject_id) == ("campaigns.sanctionedwallet", str(entry.pk))
    assert (edit_event.actor_id, edit_event.role, edit_event.ip) == (officer.pk, "compliance", "192.0.2.10")
    assert edit_event.changes == [
        {
            "model": "campaigns.sanctionedwallet",
            "pk": str(entry.pk),
            "op": "update",
            "fields": {"source": ["OFAC SDN", "EU list"]},
        }
    ]
    # Opening a page posts nothing; a form re-shown with errors changes nothing: neither is logged.
    client.post("/admin/campaigns/sanctionedwallet/add/", {"address": "not-an-address"})
    assert AuditEvent.objects.filter(source="admin").count() == 2


def test_admin_log_is_read_only_and_exports_the_filtered_list_as_csv(compliance_staff):
    _officer, client = compliance_staff
    AuditEvent.objects.create(
        source="api", action="loan-approve", subject_type="loans.loan", subject_id="A", outbox_ids=[424242]
    )
    AuditEvent.objects.create(source="command", action='=HYPERLINK("http://evil")', subject_type="x")
    listing = client.get("/admin/audit/auditevent/")
    assert listing.status_code == 200
    assert b"audit-export" in listing.content
    assert client.get("/admin/audit/auditevent/add/").status_code == 403
    event = AuditEvent.objects.get(subject_id="A")
    change_page = client.get(f"/admin/audit/auditevent/{event.pk}/change/")
    assert change_page.status_code == 200 and b'name="_save"' not in change_page.content
    assert b"outbox #424242</a>" in change_page.content and b"not sent yet" in change_page.content
    assert client.post(f"/admin/audit/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403

    export = client.get("/admin/audit/auditevent/export/?source__exact=api")
    assert export.status_code == 200 and export["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert {r["source"] for r in rows} == {"api"}
    assert any(r["subject_id"] == "A" and r["action"] == "loan-approve" for r in rows)

    everything = client.get("/admin/audit/auditevent/export/")
    rows = list(csv.DictReader(io.StringIO(b"".join(everything.streaming_content).decode())))
    formula = next(r for r in rows if r["source"] == "command")
    assert formula["action"].startswith("'=")  # a spreadsheet shows it, never runs it


def test_operators_read_the_log_and_people_outside_compliance_and_operations_cannot(make_user):
    _operator, operator_client = staff_client(make_user, "operator")
    assert operator_client.get("/admin/audit/auditevent/").status_code == 200
    assert operator_client.get("/admin/audit/auditevent/export/").status_code == 200
    _issuer, client = staff_client(make_user, "issuer")
    assert client.get("/admin/audit/auditevent/").status_code == 403
    assert client.get("/admin/audit/auditevent/export/").status_code == 403
