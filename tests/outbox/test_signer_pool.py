"""The signer pool: several signers, each its own nonce lane (anvil dev accounts 1..3 with the
operator role granted here), intents of one entity on one lane, retirement, replacement by the row's
own signer, and the operator command."""

from __future__ import annotations

import threading
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from eth_account import Account

from blockchain.chain.client import get_web3
from blockchain.chain.signer import get_signer
from blockchain.models import AttemptStatus, ChainTransaction, SignerLane, TxAttempt, TxStatus
from blockchain.outbox.confirmer import confirm_pending
from blockchain.outbox.lanes import active_lanes
from blockchain.outbox.sender import send_queued
from tests.investments.conftest import kyc_institution, make_investor, officer, open_campaign  # noqa: F401
from tests.outbox.helpers import enqueue_store_loan, unique_loan_id
from tests.outbox.pool import POOL_ADDRESSES, nonces_by_signer, signer_pool
from tests.support.issuance import end_campaign
from tests.support.outbox import settle_outbox

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


@pytest.fixture
def pool(contracts):
    with signer_pool(contracts) as addresses:
        yield addresses


def test_writes_spread_across_lanes_with_contiguous_nonces_per_signer(pool):
    w3 = get_web3()
    start = {a: w3.eth.get_transaction_count(a, "pending") for a in pool}
    assert active_lanes(settings.CHAIN_ID) == pool  # the primary is retired here: the pool is the three

    rows = [enqueue_store_loan() for _ in range(60)]
    assert all(row.signer in pool for row in rows), "every intent gets its lane when it is enqueued"
    settle_outbox()

    by_signer = nonces_by_signer(ChainTransaction.objects.filter(pk__in=[r.pk for r in rows]))
    assert set(by_signer) == set(pool), "60 keys spread over all three lanes"
    for signer, nonces in by_signer.items():
        # contiguous per lane, in enqueue order, and the chain agrees
        assert nonces == list(range(start[signer], start[signer] + len(nonces))), signer
        assert w3.eth.get_transaction_count(signer, "latest") == start[signer] + len(nonces)
    assert ChainTransaction.objects.filter(status=TxStatus.CONFIRMED).count() == 60
    assert not TxAttempt.objects.filter(status=AttemptStatus.DROPPED).exists()
    # each transaction was signed by its row's signer
    for row in ChainTransaction.objects.filter(pk__in=[r.pk for r in rows[:10]]):
        tx = w3.eth.get_transaction(row.tx_hash)
        assert tx["from"] == row.signer


def test_the_same_ordering_key_stays_on_its_lane_while_in_flight(pool):
    first = enqueue_store_loan()
    from django.db import transaction

    from blockchain.outbox import enqueue as outbox
    from blockchain.outbox.lanes import pick_lane

    def enqueue_with_key(key: str) -> ChainTransaction:
        loan_id = unique_loan_id()
        with transaction.atomic():
            return outbox.enqueue(
                kind="test.store_loan",
                contract="LoanRegistry",
                function="storeLoan",
                args=[loan_id, b"\x01" * 32, POOL_ADDRESSES[0], POOL_ADDRESSES[1]],
                idempotency_key=f"test:store:{loan_id}",
                ordering_key=first.ordering_key,
            )

    # A key whose hash prefers another lane would still follow the in-flight row.
    follower = enqueue_with_key(first.ordering_key)
    assert follower.signer == first.signer
    settle_outbox()
    # Nothing in flight any more: the key's own (stable) choice.
    again = enqueue_with_key(first.ordering_key)
    assert again.signer == pick_lane(first.ordering_key, pool)
    settle_outbox()


def test_a_campaigns_create_record_and_finalize_go_through_one_lane(pool, open_campaign, make_investor):  # noqa: F811
    campaign = open_campaign(goal="20", hard_cap="1000")
    for _ in range(3):
        _user, client, _wallet = make_investor()
        invested = client.post(f"/api/campaigns/{campaign.pk}/investments/", {"amount": "10"}, format="json")
        assert invested.status_code == 202, invested.json()
    settle_outbox()
    end_campaign(campaign)
    settle_outbox()

    rows = ChainTransaction.objects.filter(
        kind__startswith="campaigns.", ordering_key=f"campaigns.campaign:{campaign.pk}"
    )
    kinds = set(rows.values_list("kind", flat=True))
    assert {
        "campaigns.create_campaign",
        "campaigns.record_investment",
        "campaigns.finalize",
        "campaigns.mint_certificates",
    } <= kinds
    assert rows.count() >= 6
    assert set(rows.values_list("signer", flat=True)) == {rows.first().signer}, "one lane per campaign"
    assert rows.first().signer in pool
    nonces = [n for _signer, n in rows.order_by("id").values_list("signer", "nonce")]
    assert nonces == sorted(nonces), "in the order they were asked for"
    assert set(rows.values_list("status", flat=True)) == {TxStatus.CONFIRMED}


def _lock_waiters() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_worker_that_finds_its_lane_busy_waits_and_sends_what_the_holder_left(pool):
    """The lost wake-up: worker A holds a lane and claimed its batch; a row committed after that
    claim kicks worker B, which finds the lane busy. B must wait for A and send the row, not skip
    the lane (A may stop after its batch, and the row would sit queued until the sweep)."""
    from django.db import connection, transaction

    from blockchain.models import NonceAccount
    from blockchain.outbox.nonces import ensure_nonce_account

    row = enqueue_store_loan()
    ensure_nonce_account(w3=get_web3(), chain_id=settings.CHAIN_ID, address=row.signer)
    locked, release = threading.Event(), threading.Event()

    def worker_a_holds_the_lane() -> None:
        try:
            with transaction.atomic():
                NonceAccount.objects.select_for_update().get(chain_id=settings.CHAIN_ID, address=row.signer)
                locked.set()
                release.wait(60)
        finally:
            connection.close()

    def worker_b() -> None:
        try:
            send_queued()
        finally:
            connection.close()

    holder = threading.Thread(target=worker_a_holds_the_lane)
    holder.start()
    assert locked.wait(60)
    sender = threading.Thread(target=worker_b)
    sender.start()
    waited = False
    for _ in range(600):  # B reaches the lane's lock and waits on it (bounded by count, not time)
        if _lock_waiters():
            waited = True
            break
        if not sender.is_alive():
            break
        sender.join(0.05)
    row.refresh_from_db()
    assert row.status == TxStatus.QUEUED, "nothing is signed while A holds the lane"
    release.set()
    holder.join(60)
    sender.join(120)
    assert waited, "B waited for the busy lane instead of skipping it"
    row.refresh_from_db()
    assert row.status == TxStatus.SENT, "B sent the row A left"
    settle_outbox()


def test_a_retired_signer_gets_no_new_lanes_while_its_queued_rows_confirm(pool):
    rows = [enqueue_store_loan() for _ in range(30)]
    lanes = {row.signer for row in rows}
    assert len(lanes) == 3
    retired = rows[0].signer
    on_retired = [r.pk for r in rows if r.signer == retired]

    out = StringIO()
    call_command("signer_pool", "retire", retired, stdout=out)
    assert "retired" in out.getvalue()
    assert SignerLane.objects.get(chain_id=settings.CHAIN_ID, address=retired).active is False
    assert retired not in active_lanes(settings.CHAIN_ID)

    later = [enqueue_store_loan() for _ in range(30)]
    assert retired not in {row.signer for row in later}, "no new lane on a retired signer"
    settle_outbox()
    confirmed = ChainTransaction.objects.filter(pk__in=on_retired, status=TxStatus.CONFIRMED)
    assert confirmed.count() == len(on_retired), "its in-flight intents finish on it"
    assert set(confirmed.values_list("signer", flat=True)) == {retired}

    status = StringIO()
    call_command("signer_pool", "status", stdout=status)
    text = status.getvalue()
    assert retired in text and "retired" in text and "role 5/5" in text


def test_a_stuck_transaction_is_replaced_by_its_own_signer(pool, chain):
    chain.set_automine(False)
    rows = [enqueue_store_loan() for _ in range(6)]
    send_queued()
    with override_settings(CHAIN_STUCK_SECONDS=0):
        report = confirm_pending()
    assert report.replaced == 6
    chain.mine(1)
    confirm_pending()
    w3 = get_web3()
    for row in ChainTransaction.objects.filter(pk__in=[r.pk for r in rows]):
        assert row.status == TxStatus.CONFIRMED
        first, second = TxAttempt.objects.filter(transaction=row).order_by("id")
        assert first.nonce == second.nonce
        # the replacement was signed by the row's own signer, at its nonce
        assert Account.recover_transaction(bytes(second.raw_tx)) == row.signer
        assert w3.eth.get_transaction(row.tx_hash)["from"] == row.signer
    assert {r.signer for r in ChainTransaction.objects.filter(pk__in=[r.pk for r in rows])} <= set(pool)


def test_signer_pool_grant_refuses_an_unconfigured_key_and_grants_a_configured_one(contracts):
    stranger = Account.create().address
    with pytest.raises(CommandError, match="not a configured signer"):
        call_command("signer_pool", "grant", stranger, stdout=StringIO())
    with signer_pool(contracts, retire_primary=False) as addresses:
        SignerLane.objects.filter(address=addresses[0]).delete()  # configured, not granted yet
        assert addresses[0] not in active_lanes(settings.CHAIN_ID)
        out = StringIO()
        call_command("signer_pool", "grant", addresses[0], stdout=out)
        assert "takes intents" in out.getvalue()
        assert addresses[0] in active_lanes(settings.CHAIN_ID)
        assert get_signer().address in active_lanes(settings.CHAIN_ID)
        with pytest.raises(CommandError, match="no active signer"):
            for address in active_lanes(settings.CHAIN_ID):
                call_command("signer_pool", "retire", address, stdout=StringIO())


def test_sync_status_lists_every_signer_with_balance_lane_and_in_flight_intents(pool, auth_client):
    from blockchain.chain.signer import pool_addresses
    from blockchain.state import remember_signer_balances

    remember_signer_balances(get_web3())
    rows = [enqueue_store_loan() for _ in range(9)]
    waiting = {address: sum(1 for r in rows if r.signer == address) for address in pool}

    body = auth_client("operator").get("/api/blockchain/sync/").json()
    signers = body["signers"]
    assert [s["address"] for s in signers] == pool_addresses(), "every signer, the primary first"
    primary, *others = signers
    assert primary["active"] is False, "the primary is retired in this pool"
    assert primary["in_flight"] == 0
    assert all(s["active"] for s in others)
    assert {s["address"]: s["in_flight"] for s in others} == waiting
    assert all(float(s["balance"]) > 0 and s["low"] is False for s in signers)
    settle_outbox()
    after = auth_client("operator").get("/api/blockchain/sync/").json()["signers"]
    assert all(s["in_flight"] == 0 for s in after), "confirmed intents are no longer in flight"
