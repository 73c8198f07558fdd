"""campaigns 0008/0009: rows rejected before the fixed list show the investor `other`; the words an
officer (or the sanctions screening) wrote move to the staff-only `rejection_notes`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts import services as account_services
from campaigns.models import Campaign, Investment
from campaigns.serializers import InvestmentSerializer, StaffInvestmentSerializer
from issuers.models import Company
from tests.support.issuance import CID, new_wallet

pytestmark = pytest.mark.django_db

BEFORE = ("campaigns", "0007_drop_newest_position_guards")
AFTER = ("campaigns", "0009_investment_rejection_reason_list")
OLD_TEXTS = {
    "sar": "Structuring pattern; SAR filed.",
    "sanctioned": "sanctioned wallet",
    "long": "Source of funds unclear: " + "the bank statements do not match the declared income. " * 4,
    "clear": "",
}


def migrate(target: tuple[str, str]) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])


def _investments() -> dict[str, int]:
    owner = account_services.create_user(username="mig-issuer", role="issuer", password=None)
    company = Company.objects.create(
        owner=owner,
        legal_name="Migration AG",
        registration_number="CHE-MIG-1",
        country="CH",
        wallet_address=new_wallet(),
        document_cid=CID,
    )
    start = datetime(2030, 1, 1, tzinfo=UTC)  # a fixed run: nothing here depends on now
    campaign = Campaign.objects.create(
        campaign_ref="0x" + "44" * 32,
        issuer=company,
        title="Migration",
        goal=1000,
        hard_cap=2000,
        min_investment=10,
        share_price=1,
        starts_at=start,
        ends_at=start + timedelta(days=30),
    )
    investor = account_services.create_user(username="mig-investor", role="investor", password=None)
    rows = Investment.objects.bulk_create(  # no post_save: rows, not chain intents
        [
            Investment(
                campaign=campaign,
                investor=investor,
                investor_wallet=new_wallet(),
                amount=10,
                investment_ref="0x" + f"{n:064x}",
                status="confirmed" if key == "clear" else "rejected",
                rejection_reason="" if key == "clear" else "other",
            )
            for n, key in enumerate(OLD_TEXTS, start=1)
        ]
    )
    return {key: row.pk for key, row in zip(OLD_TEXTS, rows, strict=True)}


def test_old_free_text_is_shown_as_other_and_kept_for_staff():
    ids = _investments()
    with connection.cursor() as cursor:
        # The rows' deferred foreign-key checks run now: PostgreSQL alters no table with checks pending.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    migrate(BEFORE)
    try:
        with connection.cursor() as cursor:
            for key, pk in ids.items():  # what the API used to store: the officer's words
                cursor.execute(
                    "UPDATE campaigns_investment SET rejection_reason = %s WHERE id = %s",
                    [OLD_TEXTS[key], pk],
                )
    finally:
        migrate(AFTER)
    for key, pk in ids.items():
        row = Investment.objects.get(pk=pk)
        if key == "clear":
            assert (row.rejection_reason, row.rejection_notes) == ("", "")
            continue
        assert row.rejection_reason == "other" and row.rejection_notes == OLD_TEXTS[key]
        investor_view = InvestmentSerializer(row).data
        assert investor_view["rejection_reason"] == "other" and "rejection_notes" not in investor_view
        assert OLD_TEXTS[key] not in str(investor_view)
        assert StaffInvestmentSerializer(row).data["rejection_notes"] == OLD_TEXTS[key]
