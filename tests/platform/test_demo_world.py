"""`seed_demo` builds a world in which every role's journey starts at once, with stable logins in
VAR_DIR/demo-logins.txt; a second run changes nothing and sends nothing; production refuses it."""

from __future__ import annotations

import stat
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from accounts.models import User, WalletChallenge
from blockchain.chain.bindings import call_many
from blockchain.models import ChainTransaction
from campaigns.models import Campaign, Investment
from credentials.models import Credential, CredentialBatch, CredentialStatus, Institution, SyncStatus
from devtools.demo_world import LOGINS, read_logins
from issuers.models import Company
from loans.models import Loan
from tests.support.users import jwt_client

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


@pytest.fixture
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return tmp_path


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


@pytest.fixture
def world(contracts, var_dir) -> str:
    """The demo world on the test chain; its output."""
    return seed()


def client(username: str) -> APIClient:
    return jwt_client(User.objects.get(username=username))


def test_the_investor_can_invest_at_once(world):
    investor = client("demo_investor")
    me = investor.get("/api/auth/me/").json()
    assert me["wallet_verified"] is True and me["wallet_address"]
    assert me["kyc"]["status"] == "valid"
    kyc = Credential.objects.get(pk=me["kyc"]["credential_id"])
    assert kyc.institution.name == "Demo KYC Provider" and kyc.institution.kyc_provider

    active = APIClient().get("/api/campaigns/", {"status": "active"}).json()["results"]
    campaign = next(c for c in active if c["title"] == "Demo Solar Series A")
    invested = investor.post(
        f"/api/campaigns/{campaign['id']}/investments/", {"amount": campaign["goal"]}, format="json"
    )
    assert invested.status_code == 202, invested.json()
    assert Investment.objects.get(pk=invested.json()["id"]).investor.username == "demo_investor"


def test_the_issuers_company_is_registered_and_its_campaign_active_on_chain(world):
    companies = {c["legal_name"]: c for c in client("demo_issuer").get("/api/issuers/").json()["results"]}
    solar, wind = companies["Demo Solar GmbH"], companies["Demo Wind AG"]
    assert solar["kyb_status"] == "approved" and solar["onchain"]["registered"] is True
    assert solar["kyb_credential_id"]  # approved on the KYB credential Demo KYC Provider issued
    assert wind["kyb_status"] == "pending"  # compliance's first decision
    pending = client("demo_compliance").get("/api/issuers/", {"kyb_status": "pending"}).json()["results"]
    assert "Demo Wind AG" in [c["legal_name"] for c in pending]

    campaign = Campaign.objects.get(title="Demo Solar Series A")
    assert campaign.status == "active" and campaign.issuer.legal_name == "Demo Solar GmbH"
    (ref, finalized, deadline), _block = call_many(
        [
            ("Campaign", campaign.contract_address, "campaignRef", []),
            ("Campaign", campaign.contract_address, "finalized", []),
            ("Campaign", campaign.contract_address, "deadline", []),
        ]
    )
    assert "0x" + ref.hex() == campaign.campaign_ref and finalized is False
    assert deadline == int(campaign.ends_at.timestamp())


def test_institutions_are_on_chain_with_their_staff_and_a_university_credential_verifies(world):
    kyc = Institution.objects.get(name="Demo KYC Provider")
    university = Institution.objects.get(name="Demo University")
    assert kyc.sync_status == university.sync_status == SyncStatus.SYNCED
    assert kyc.kyc_provider and not university.kyc_provider
    assert list(kyc.members.values_list("username", flat=True)) == ["demo_institution"]
    assert list(university.members.values_list("username", flat=True)) == ["demo_university"]

    diplomas = Credential.objects.filter(institution=university, credential_type="diploma")
    assert diplomas.filter(batch__isnull=True).count() == 1
    batch = CredentialBatch.objects.get(institution=university)
    assert batch.status == "anchored" and batch.count == 3
    assert set(diplomas.values_list("status", flat=True)) == {CredentialStatus.ISSUED}
    for credential in (diplomas.filter(batch=batch).first(), diplomas.get(batch__isnull=True)):
        verified = APIClient().post(
            "/api/blockchain/verify/", {"document": credential.document}, format="json"
        )
        assert verified.status_code == 200, verified.json()
        assert verified.json()["exists"] is True and verified.json()["valid"] is True
    # The university's staff sees its credentials; it can issue and revoke from there.
    listed = client("demo_university").get("/api/credentials/").json()
    assert listed["count"] == 4


def test_a_loan_is_anchored_and_another_waits_for_the_operator(world):
    operator = client("demo_operator")
    status = operator.get("/api/loans/DEMO-LOAN-0001/blockchain/status/").json()
    assert status["anchored"] is True and status["repaid"] is False
    verified = operator.get("/api/loans/DEMO-LOAN-0001/blockchain/verify/").json()
    assert verified["verified"] is True
    assert Loan.objects.get(loan_id="DEMO-LOAN-0002").status == "draft"


def test_logins_are_in_a_private_file_and_work(world, var_dir):
    path = var_dir / "demo-logins.txt"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    passwords = read_logins(path)
    assert set(passwords) == {login.username for login in LOGINS}
    for login in LOGINS:
        user = User.objects.get(username=login.username)
        assert user.check_password(passwords[login.username]) and user.email.endswith(".invalid")
        assert user.role == login.user_role
        assert login.purpose in path.read_text()
    assert User.objects.get(username="demo_admin").is_superuser
    token = APIClient().post(
        "/api/auth/token/",
        {"username": "demo_investor", "password": passwords["demo_investor"]},
        format="json",
    )
    assert token.status_code == 200 and token.json()["access"]
    # The terminal gets a few lines: where the file is and every role's login.
    lines = world.strip().splitlines()
    assert lines[0] == "Demo world ready." and len(lines) <= 3 + len(LOGINS)
    assert str(path) in world
    for username in ("demo_investor", "demo_issuer", "demo_compliance", "demo_operator", "demo_institution"):
        assert f"{username} " in world and passwords[username] in world
    assert passwords["demo_admin"] not in world


def _state() -> dict:
    return {
        "outbox": list(ChainTransaction.objects.order_by("pk").values_list("pk", "status")),
        "users": list(User.objects.order_by("pk").values_list("username", "password", "wallet_address")),
        "challenges": WalletChallenge.objects.count(),
        "institutions": list(Institution.objects.order_by("pk").values_list("pk", "sync_status")),
        "credentials": list(Credential.objects.order_by("pk").values_list("pk", "status")),
        "companies": list(
            Company.objects.order_by("pk").values_list("pk", "kyb_status", "registration_status")
        ),
        "campaigns": list(Campaign.objects.order_by("pk").values_list("pk", "status")),
        "loans": list(Loan.objects.order_by("pk").values_list("loan_id", "status")),
    }


def test_a_second_run_changes_nothing_and_sends_nothing(world, var_dir):
    before = _state()
    logins = (var_dir / "demo-logins.txt").read_text()
    again = seed()
    assert _state() == before
    assert (var_dir / "demo-logins.txt").read_text() == logins  # the same passwords
    assert again == world


def test_a_password_changed_since_returns_to_the_logins_files(world, var_dir):
    """The file is what the demo hands out: a run sets a changed password back and keeps the file."""
    passwords = read_logins(var_dir / "demo-logins.txt")
    User.objects.filter(username="demo_operator").update(password="!")  # e.g. changed in the admin
    seed()
    assert User.objects.get(username="demo_operator").check_password(passwords["demo_operator"])
    assert read_logins(var_dir / "demo-logins.txt") == passwords


def test_production_refuses_to_seed(settings, var_dir):
    settings.DJANGO_ENV = "production"
    with pytest.raises(CommandError, match="refusing to seed demo data in production"):
        seed()
    assert not User.objects.filter(username__startswith="demo_").exists()
    assert not (var_dir / "demo-logins.txt").exists()


def test_seed_demo_prints_every_roles_login_and_no_seeded_state_as_current(world, var_dir):
    """The output `make run` shows: each of the logins (operator and institutions too) with its
    password (the superuser's: where to find it), and what the world was seeded with, never as a
    fact of now."""
    passwords = read_logins(var_dir / "demo-logins.txt")
    lines = world.splitlines()
    for login in LOGINS:
        shown = "demo-logins.txt" if login.role == "admin" else passwords[login.username]
        assert any(login.username in line and shown in line for line in lines), login
    assert "(campaign active)" not in world and "may have changed since" in world
