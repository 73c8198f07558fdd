"""Cached balances on anvil: cache vs chain, transfers outside the API, pending deltas, reconciliation."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction
from eth_account import Account

from blockchain.chain.bindings import bound
from blockchain.chain.client import get_web3
from blockchain.chain.signer import get_signer
from blockchain.indexing.indexer import Indexer
from blockchain.models import ReconcileReport
from blockchain.outbox import enqueue as outbox
from blockchain.outbox import hooks
from blockchain.outbox.hooks import BalanceEffect
from tests.support.chain import send
from tests.support.outbox import settle_outbox
from wallets.balances import clear_hot_cache, get_balance, get_balances
from wallets.models import Balance

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


def by_asset(views) -> dict:
    return {v.asset: v for v in views}


def test_first_read_from_the_chain_then_from_the_cache_and_verify_matches(token):
    holder = Account.create().address
    send(token, "DemoToken", "mint", holder, 1_234_567)
    get_web3().provider.make_request("anvil_setBalance", [holder, hex(3 * 10**18)])
    first = by_asset(get_balances(holder))
    assert {v.source for v in first.values()} == {"chain"}
    assert first["DUSD"].amount == Decimal("1.234567") and first["DUSD"].base_units == 1_234_567
    assert first["native"].amount == 3 and first["certificates"].amount == 0
    again = by_asset(get_balances(holder))
    assert {v.source for v in again.values()} == {"cache"}
    assert again["DUSD"].base_units == 1_234_567
    verified = get_balance(holder, "DUSD", verify_critical=True)
    assert verified.source == "chain" and verified.base_units == bound("DemoToken", address=token).call(
        "balanceOf", holder
    )
    assert get_balance(holder, "native", verify_critical=True).base_units == get_web3().eth.get_balance(
        holder
    )


def test_transfers_outside_the_api_are_correct_after_one_indexer_poll(token, chain):
    holder = Account.create().address
    send(token, "DemoToken", "mint", holder, 100)
    assert get_balance(holder, "DUSD").base_units == 100
    send(token, "DemoToken", "mint", holder, 50)  # outside the platform
    assert get_balance(holder, "DUSD").base_units == 100  # the cache does not know yet
    Indexer().run()  # the token is watched; its Transfer marks the balance stale
    fresh = get_balance(holder, "DUSD")
    assert fresh.base_units == 150 and fresh.source == "chain"
    assert Balance.objects.get(address=holder, asset="DUSD").stale is False


def test_pending_delta_while_in_flight_and_cleared_on_confirmation(
    token, django_capture_on_commit_callbacks, monkeypatch
):
    # The intent declares what it moves (as each app does for its own kinds).
    monkeypatch.setitem(
        hooks._balance_effects,
        "test.mint",
        lambda tx: [BalanceEffect(holder=tx.args[0], token=tx.contract_address, delta=int(tx.args[1]))],
    )
    holder = Account.create().address
    assert get_balance(holder, "DUSD").base_units == 0
    # The enqueue's commit (here: the test's savepoint, with its on-commit callbacks run) shows it.
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        outbox.enqueue(
            kind="test.mint",
            contract="DemoToken",
            function="mint",
            args=[holder, 2_500_000],
            address=token,
            idempotency_key=f"test:mint:{holder}",
        )
    pending = get_balance(holder, "DUSD")
    assert pending.pending_delta == Decimal("2.5") and pending.amount == 0
    signer = get_signer().address
    assert get_balance(signer, "native").pending_delta == 0  # not signed yet: no fee reserved
    settle_outbox()
    done = get_balance(holder, "DUSD")
    assert done.pending_delta == 0 and done.amount == Decimal("2.5") and done.source == "chain"


def test_the_wallet_balances_endpoint(token, auth_client, make_user):
    from tests.support.wallets import bind_wallet

    owner = auth_client("investor")
    wallet = bind_wallet(owner)
    send(token, "DemoToken", "mint", wallet.address, 7)
    url = f"/api/wallets/{wallet.address.lower()}/balances/"
    rows = {r["asset"]: r for r in owner.get(url).json()}
    assert rows["DUSD"]["amount"] == "0.000007" and rows["DUSD"]["symbol"] == "DUSD"
    assert rows["native"]["symbol"] == "ETH" and rows["DUSD"]["pending_delta"] == "0"
    verified = {r["asset"]: r for r in owner.get(url + "?verify=1").json()}
    assert verified["DUSD"]["source"] == "chain" and verified["DUSD"]["amount"] == "0.000007"
    assert auth_client("investor").get(url).status_code == 403  # not theirs
    assert auth_client("operator").get(url).status_code == 200
    assert owner.get("/api/wallets/0x123/balances/").status_code == 400


def test_reconcile_reports_and_corrects_drift(token):
    from wallets.tasks import reconcile_all_balances

    holder = Account.create().address
    send(token, "DemoToken", "mint", holder, 10)
    get_balances(holder)
    Balance.objects.filter(address=holder, asset="DUSD").update(amount=999)
    clear_hot_cache()
    result = reconcile_all_balances()
    report = ReconcileReport.objects.get(pk=result["report"])
    assert report.drift_count == 1 and report.drift[0]["key"] == f"{holder}:DUSD"
    assert Balance.objects.get(address=holder, asset="DUSD").amount == 10
    assert reconcile_all_balances()["drift"] == 0


def test_stale_balances_are_refreshed_by_the_beat_task(token):
    from wallets.tasks import refresh_stale_balances

    holder = Account.create().address
    get_balances(holder)
    send(token, "DemoToken", "mint", holder, 5)
    Indexer().run()
    assert Balance.objects.get(address=holder, asset="DUSD").stale is True
    assert refresh_stale_balances() >= 1
    row = Balance.objects.get(address=holder, asset="DUSD")
    assert row.stale is False and row.amount == 5


def test_low_signer_balance_warns_in_health_and_sync(contracts, settings, auth_client, health_client):
    from blockchain.outbox.confirmer import confirm_pending

    confirm_pending()  # refreshes the cached signer balance
    Indexer().run()  # health also wants an indexer that has run
    settings.SIGNER_MIN_BALANCE = Decimal("1000000000")
    health = health_client.get("/healthz")
    assert health.status_code == 200
    assert any("SIGNER_MIN_BALANCE" in w for w in health.json()["warnings"])
    sync = auth_client("operator").get("/api/blockchain/sync/").json()
    assert sync["signer"]["low"] is True and sync["signer"]["minimum"] == "1000000000"
    settings.SIGNER_MIN_BALANCE = Decimal("0.5")
    assert "warnings" not in health_client.get("/healthz").json()


def test_chain_status_and_balance_check_commands(token):
    import io

    from django.core.management import call_command
    from django.core.management.base import CommandError

    out = io.StringIO()
    call_command("chain_status", stdout=out)
    assert "chain id     31337" in out.getvalue() and "rpc latency" in out.getvalue()
    assert get_signer().address in out.getvalue()
    holder = Account.create().address
    send(token, "DemoToken", "mint", holder, 42)
    out = io.StringIO()
    call_command("balance_check", "--address", holder, "--benchmark", "--runs", "5", stdout=out)
    text = out.getvalue()
    assert "DUSD 0.000042" in text and "[ok]" in text and "faster cached" in text
    with pytest.raises(CommandError):
        call_command("balance_check", "--address", "nope")
