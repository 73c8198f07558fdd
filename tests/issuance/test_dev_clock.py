"""Development time controls: the minimum run from settings (never below 21 days in production), the
platform's clock (core.clock) and `advance_time`, which moves the dev chain's clock and the platform's
together so that a demo campaign closes early, finalizes and mints its certificates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError
from eth_account import Account

from accounts.models import User
from blockchain.chain.client import get_web3
from campaigns import services as campaign_services
from campaigns.models import Campaign, CampaignStatus
from core import clock
from core.api import DomainError
from core.env_checks import campaign_rule_problems
from devtools.chain_clock import align
from issuers.models import Company
from tests.support.issuance import CID, opened_long_ago
from tests.support.outbox import settle_outbox
from tests.support.users import jwt_client

FIXED_NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return tmp_path


@pytest.fixture
def development(settings, var_dir):
    """DJANGO_ENV=development for this test (its clock file in a temporary VAR_DIR)."""
    settings.DJANGO_ENV = "development"
    return var_dir


def latest_block():
    return get_web3().eth.get_block("latest")


# --- the setting and its production check ------------------------------------------------------------


def test_production_refuses_a_minimum_run_below_21_days():
    refused = campaign_rule_problems(django_env="production", min_run_days=20)
    assert len(refused) == 1 and "CAMPAIGN_MIN_RUN_DAYS" in refused[0] and "21" in refused[0]
    assert campaign_rule_problems(django_env="production", min_run_days=21) == []
    assert campaign_rule_problems(django_env="development", min_run_days=5) == []
    assert campaign_rule_problems(django_env="development", min_run_days=0)  # under the database's day


def test_a_production_process_with_20_days_refuses_to_start(tmp_path):
    password_file = tmp_path / "signer.pass"
    password_file.write_text("keystore-password\n")
    keystore = tmp_path / "signer.json"
    keystore.write_text(
        json.dumps(Account.encrypt(Account.create().key, "keystore-password", kdf="pbkdf2", iterations=2))
    )
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SIGNER_", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"))
        },
        "DJANGO_ENV": "production",
        "SECRET_KEY": "p" * 20 + "-unique-production-secret-value-" + "q" * 20,
        "ALLOWED_HOSTS": "ledger.example.com",
        "SIGNER_KEYSTORE": str(keystore),
        "SIGNER_PASSWORD_FILE": str(password_file),
        "CHAIN_ID": "137",
        "CAMPAIGN_MIN_RUN_DAYS": "20",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert (
        "Refusing to start" in result.stderr and "CAMPAIGN_MIN_RUN_DAYS must be at least 21" in result.stderr
    )


@pytest.mark.django_db
def test_the_minimum_run_follows_the_setting(settings, make_user):
    owner, _ = make_user("issuer")
    company = Company.objects.create(
        owner=owner,
        legal_name="Short Run AG",
        registration_number="CHE-SHORT-1",
        country="CH",
        wallet_address=Account.create().address,
        document_cid=CID,
    )
    terms = {
        "actor": owner,
        "issuer": company,
        "title": "Ten days",
        "goal": Decimal("100.00"),
        "hard_cap": Decimal("1000.00"),
        "min_investment": Decimal("10.00"),
        "share_price": Decimal("10.00"),
        "starts_at": FIXED_NOW,
        "ends_at": FIXED_NOW + timedelta(days=10),
    }
    with pytest.raises(DomainError) as refused:
        campaign_services.create_campaign(**terms)
    assert refused.value.code == "invalid" and "at least 21 days" in refused.value.message

    settings.CAMPAIGN_MIN_RUN_DAYS = 7  # a development setting: the database takes runs of a day or more
    campaign = campaign_services.create_campaign(**terms)
    assert Campaign.objects.get(pk=campaign.pk).ends_at - campaign.starts_at == timedelta(days=10)


# --- the platform's clock ---------------------------------------------------------------------------


def test_the_clock_adds_the_offset_in_development_only(settings, var_dir, monkeypatch):
    monkeypatch.setattr("django.utils.timezone.now", lambda: FIXED_NOW)
    (var_dir / clock.OFFSET_FILE).write_text(json.dumps({"offset_seconds": 86400}))
    assert clock.now() == FIXED_NOW  # test (and production): the wall clock, whatever the file says
    settings.DJANGO_ENV = "production"
    assert clock.now() == FIXED_NOW
    with pytest.raises(clock.ClockError):
        clock.set_offset(seconds=2 * 86400)

    settings.DJANGO_ENV = "development"
    assert clock.now() == FIXED_NOW + timedelta(days=1)
    with pytest.raises(clock.ClockError, match="backwards"):
        clock.set_offset(seconds=3600)
    clock.set_offset(seconds=2 * 86400)
    assert clock.now() == FIXED_NOW + timedelta(days=2)
    assert json.loads((var_dir / clock.OFFSET_FILE).read_text())["offset_seconds"] == 2 * 86400


@pytest.mark.django_db
def test_advance_time_refuses_outside_development_and_backwards(settings, var_dir):
    with pytest.raises(CommandError, match="development only"):
        call_command("advance_time", days=22)
    settings.DJANGO_ENV = "development"
    with pytest.raises(CommandError, match="only moves forward"):
        call_command("advance_time", days=-1)
    with pytest.raises(CommandError, match="only moves forward"):
        call_command("advance_time")
    assert not (var_dir / clock.OFFSET_FILE).exists()


@pytest.mark.chain
@pytest.mark.django_db
def test_advance_time_moves_the_chain_and_the_platform_together(chain, development):
    before = latest_block()
    out = StringIO()
    call_command("advance_time", days=22, stdout=out)
    after = latest_block()
    assert after["number"] == before["number"] + 1  # one block mined, carrying the new time
    assert after["timestamp"] >= before["timestamp"] + 22 * 86400
    assert clock.offset() >= timedelta(days=22)
    # The platform is not behind the chain it follows.
    assert clock.now() >= datetime.fromtimestamp(after["timestamp"], tz=UTC)
    assert out.getvalue().startswith("Both clocks moved forward 22 days.\n")

    offset = clock.offset()
    call_command("advance_time", hours=1, stdout=StringIO())
    later = latest_block()
    assert later["timestamp"] >= after["timestamp"] + 3600
    assert clock.offset() >= offset + timedelta(hours=1)
    # The next transaction's block is stamped at the platform's time too, not the wall clock's.
    chain.rpc("evm_mine")
    assert latest_block()["timestamp"] >= later["timestamp"]


@pytest.mark.chain
@pytest.mark.django_db
def test_a_node_that_forgot_its_moved_clock_is_brought_back_to_the_platforms(chain, development):
    """anvil reloading its state forgets evm_increaseTime; seed_demo (at every `make run` start) aligns
    the chain with the platform again instead of stamping blocks weeks in the platform's past."""
    forgotten, before = chain.snapshot(), latest_block()
    call_command("advance_time", days=22, stdout=StringIO())
    offset = clock.offset()
    assert chain.revert(forgotten)  # the node's clock is back at the wall clock; the platform's is not
    assert int(chain.rpc("evm_increaseTime", 0)) < 22 * 86400

    clocks = align()
    assert clocks.moved.startswith("chain clock moved forward 22 days")
    assert int(chain.rpc("evm_increaseTime", 0)) >= 22 * 86400 and clock.offset() == offset
    chain.rpc("evm_mine")
    assert latest_block()["timestamp"] >= before["timestamp"] + 22 * 86400  # stamped at the platform's time
    assert align().moved == ""  # agreed: nothing moves


# --- a demo campaign through close → finalize → certificates ---------------------------------------


def _demo_campaign() -> Campaign:
    return Campaign.objects.get(title="Demo Solar Series A")


def _investor_meets_the_goal() -> None:
    investor = jwt_client(User.objects.get(username="demo_investor"))
    campaign = _demo_campaign()
    invested = investor.post(
        f"/api/campaigns/{campaign.pk}/investments/", {"amount": str(campaign.goal)}, format="json"
    )
    assert invested.status_code == 202, invested.json()
    settle_outbox()
    campaign.refresh_from_db()
    assert campaign.raised == campaign.goal


@pytest.mark.chain
@pytest.mark.django_db
def test_close_early_follows_the_minimum_run_setting(contracts, var_dir, settings):
    call_command("seed_demo", stdout=StringIO())
    _investor_meets_the_goal()
    campaign = _demo_campaign()
    opened_long_ago(campaign, days=6)
    issuer = jwt_client(User.objects.get(username="demo_issuer"))

    settings.CAMPAIGN_MIN_RUN_DAYS = 7
    too_early = issuer.post(f"/api/campaigns/{campaign.pk}/close/")
    assert too_early.status_code == 409 and too_early.json()["code"] == "too_early_to_close"
    assert "after 7 days open" in too_early.json()["message"]

    settings.CAMPAIGN_MIN_RUN_DAYS = 5
    closing = issuer.post(f"/api/campaigns/{campaign.pk}/close/")
    assert closing.status_code == 202, closing.json()
    settle_outbox()
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.SUCCESSFUL


@pytest.mark.chain
@pytest.mark.django_db
def test_advance_time_lets_a_demo_campaign_close_finalize_and_mint(contracts, development):
    call_command("seed_demo", stdout=StringIO())
    _investor_meets_the_goal()
    campaign = _demo_campaign()
    issuer = jwt_client(User.objects.get(username="demo_issuer"))
    too_early = issuer.post(f"/api/campaigns/{campaign.pk}/close/")
    assert too_early.status_code == 409 and too_early.json()["code"] == "too_early_to_close"

    call_command("advance_time", days=22, stdout=StringIO())
    closing = issuer.post(f"/api/campaigns/{campaign.pk}/close/")
    assert closing.status_code == 202, closing.json()
    settle_outbox()
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SUCCESSFUL
    # The finalize block carries the moved chain time, after the campaign went live.
    assert campaign.closed_at >= campaign.activated_at + timedelta(days=22)

    investor = jwt_client(User.objects.get(username="demo_investor"))
    certificates = investor.get("/api/certificates/").json()["results"]
    assert len(certificates) == 1
    assert certificates[0]["shares"] == int(campaign.goal / campaign.share_price)
    assert certificates[0]["token_id"] is not None and certificates[0]["chain"]["status"] == "confirmed"
