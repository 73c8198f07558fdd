"""Operators see and act on the outbox: API, admin actions, signer_info, metrics, the `chain` object."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from blockchain.models import ChainTransaction, TxStatus
from blockchain.outbox.confirmer import confirm_pending
from blockchain.outbox.sender import send_queued
from blockchain.selectors import chain_summary
from tests.outbox.helpers import enqueue_store_loan, unique_loan_id
from tests.support.outbox import confirm_mined

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


def failed_row(loan_id: str) -> ChainTransaction:
    enqueue_store_loan(loan_id)
    send_queued()
    confirm_mined()
    duplicate = enqueue_store_loan(loan_id, key=f"dup:{loan_id}")
    send_queued()
    duplicate.refresh_from_db()
    assert duplicate.status == TxStatus.FAILED
    return duplicate


def test_chain_summary_follows_the_row_through_its_life(contracts, settings):
    settings.EXPLORER_TX_URL = "https://scan.example/tx/{tx_hash}"
    assert chain_summary(None)["status"] == "not_requested"
    row = enqueue_store_loan()
    queued = chain_summary(row)
    assert queued["status"] == "queued" and queued["tx_hash"] is None and queued["explorer_url"] is None
    send_queued()
    row.refresh_from_db()
    assert chain_summary(row)["status"] == "sent"
    confirm_pending()
    row.refresh_from_db()
    done = chain_summary(row)
    assert done["status"] == "confirmed"
    assert done["tx_hash"] == row.tx_hash
    assert done["block_number"] == row.block_number
    assert done["confirmations"] >= 1
    assert done["explorer_url"] == f"https://scan.example/tx/{row.tx_hash}"
    assert done["error"] is None


def test_failed_row_summary_names_the_error(contracts):
    row = failed_row(unique_loan_id())
    summary = chain_summary(row)
    assert summary["status"] == "failed"
    assert summary["error"]["code"] == "LoanAlreadyStored"


def test_outbox_api_is_for_operators_only(contracts, auth_client, api_client):
    enqueue_store_loan()
    assert api_client.get("/api/blockchain/transactions/").status_code == 401
    for role in ("investor", "issuer", "institution", "compliance"):
        assert auth_client(role).get("/api/blockchain/transactions/").status_code == 403, role
    response = auth_client("operator").get("/api/blockchain/transactions/")
    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_outbox_api_lists_filters_and_shows_attempts(contracts, auth_client):
    operator = auth_client("operator")
    enqueue_store_loan()
    send_queued()
    confirm_mined()
    queued = enqueue_store_loan()
    body = operator.get("/api/blockchain/transactions/", {"status": "queued"}).json()
    assert [r["id"] for r in body["results"]] == [queued.pk]
    confirmed = operator.get("/api/blockchain/transactions/", {"status": "confirmed"}).json()["results"][0]
    assert confirmed["chain"]["status"] == "confirmed"
    assert len(confirmed["attempts_detail"]) == 1
    assert "raw_tx" not in confirmed and "calldata" not in confirmed
    assert operator.get("/api/blockchain/transactions/", {"status": "bogus"}).status_code == 400


def test_retry_endpoint_requeues_failed_and_refuses_others(contracts, auth_client):
    operator = auth_client("operator")
    row = failed_row(unique_loan_id())
    response = operator.post(f"/api/blockchain/transactions/{row.pk}/retry/")
    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    again = operator.post(f"/api/blockchain/transactions/{row.pk}/retry/")
    assert again.status_code == 409
    assert again.json()["code"] == "not_failed"


def test_rebroadcast_endpoint_refuses_rows_not_in_flight(contracts, auth_client):
    row = enqueue_store_loan()
    response = auth_client("operator").post(f"/api/blockchain/transactions/{row.pk}/rebroadcast/")
    assert response.status_code == 409
    assert response.json()["code"] == "not_in_flight"


def test_admin_retry_action(contracts, make_user):
    user, password = make_user("operator")
    user.is_staff = user.is_superuser = True
    user.save()
    client = Client()
    assert client.login(username=user.username, password=password)
    row = failed_row(unique_loan_id())
    response = client.post(
        "/admin/blockchain/chaintransaction/",
        {"action": "retry_failed", "_selected_action": [row.pk]},
        follow=True,
    )
    assert response.status_code == 200
    row.refresh_from_db()
    assert row.status == TxStatus.QUEUED
    page = client.get(f"/admin/blockchain/chaintransaction/{row.pk}/change/")
    assert page.status_code == 200


def test_signer_info_shows_address_balance_nonce_and_never_the_key(contracts, settings):
    out = StringIO()
    call_command("signer_info", stdout=out)
    text = out.getvalue()
    assert "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266" in text
    assert "balance" in text and "nonce on chain" in text
    assert settings.SIGNER_PRIVATE_KEY.reveal().removeprefix("0x") not in text


def test_metrics_expose_outbox_series(contracts, client):
    enqueue_store_loan()
    send_queued()
    confirm_mined()
    enqueue_store_loan()
    text = client.get("/metrics").content.decode()
    assert 'outbox_rows{status="queued"} 1.0' in text
    assert 'outbox_rows{status="confirmed"} 1.0' in text
    assert 'outbox_oldest_age_seconds{stage="queued"}' in text
    assert "chain_rpc_calls_total" in text
    assert "chain_gas_used_total" in text
