"""Credentials of a Merkle batch: the batch response lists their ids, `?batch=<batch_id>` filters
them, and each one's `chain` is its batch's anchorBatch transaction at every step (queued, sent,
confirmed), never another status; a revocation asked for later shows as that credential's own. Their
status never runs ahead of that transaction: `pending` (and not valid) until it is confirmed, even
when the indexer saw BatchAnchored first."""

from __future__ import annotations

import pytest

from blockchain.indexing.indexer import Indexer
from blockchain.models import ChainTransaction
from blockchain.outbox.confirmer import confirm_pending
from blockchain.outbox.sender import send_queued
from credentials.models import Credential, CredentialStatus
from credentials.onchain.intents import BATCH_KIND
from tests.support.outbox import confirm_mined

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

SUBJECT = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"


def post_batch(client, institution, *, size: int, tag: str) -> dict:
    items = [
        {"subject_wallet": SUBJECT, "credential_type": "diploma", "document": {"tag": tag, "n": n}}
        for n in range(size)
    ]
    response = client.post(
        "/api/credentials/batch/", {"institution": institution.address, "credentials": items}, format="json"
    )
    assert response.status_code == 202, response.json()
    return response.json()


def listed(client, batch_id: str) -> list[dict]:
    response = client.get(f"/api/credentials/?batch={batch_id}")
    assert response.status_code == 200, response.json()
    return response.json()["results"]


def anchoring(batch: dict) -> ChainTransaction:
    return ChainTransaction.objects.get(kind=BATCH_KIND, args__0=batch["merkle_root"])


def test_the_batch_response_lists_its_credential_ids_in_the_order_given(institution):
    row, client = institution
    batch = post_batch(client, row, size=3, tag="order")
    ids = batch["credential_ids"]
    assert len(ids) == batch["count"] == 3
    for n, credential_id in enumerate(ids):
        credential = client.get(f"/api/credentials/{credential_id}/").json()
        assert credential["batch_id"] == batch["batch_id"] and credential["document"] == {
            "tag": "order",
            "n": n,
        }


def test_credentials_filter_by_batch(institution, auth_client):
    row, client = institution
    first = post_batch(client, row, size=3, tag="first")
    second = post_batch(client, row, size=2, tag="second")
    assert sorted(c["id"] for c in listed(client, first["batch_id"])) == first["credential_ids"]
    assert sorted(c["id"] for c in listed(client, second["batch_id"])) == second["credential_ids"]
    compliance = auth_client("compliance")
    assert sorted(c["id"] for c in listed(compliance, first["batch_id"])) == first["credential_ids"]
    outsider = auth_client("institution")  # filtering never widens what a caller may see
    assert listed(outsider, first["batch_id"]) == []
    assert listed(client, "00000000-0000-0000-0000-000000000000") == []
    bad = client.get("/api/credentials/?batch=not-a-batch-id")
    assert bad.status_code == 400 and "batch" in bad.json()["errors"]


def test_batched_credentials_read_their_batch_transactions_status_at_every_step(institution):
    row, client = institution
    batch = post_batch(client, row, size=3, tag="steps")

    def chains() -> list[dict]:
        singles = [client.get(f"/api/credentials/{i}/").json()["chain"] for i in batch["credential_ids"]]
        return singles + [c["chain"] for c in listed(client, batch["batch_id"])]

    assert batch["chain"]["status"] == "queued"
    assert {c["status"] for c in chains()} == {"queued"}

    send_queued()
    tx = anchoring(batch)
    assert tx.status == "sent"
    assert all(c["status"] == "sent" and c["tx_hash"] == tx.tx_hash for c in chains())

    confirm_pending()
    tx.refresh_from_db()
    assert tx.status == "confirmed"
    assert all(
        c["status"] == "confirmed" and c["tx_hash"] == tx.tx_hash and c["block_number"] == tx.block_number
        for c in chains()
    )
    assert {c["status"] for c in listed(client, batch["batch_id"])} == {"issued"}


def test_a_revocation_shows_on_the_revoked_credential_only(institution):
    row, client = institution
    batch = post_batch(client, row, size=2, tag="revoke")
    send_queued()
    confirm_mined()
    revoked_id, kept_id = batch["credential_ids"]
    revoked = client.post(
        f"/api/credentials/{revoked_id}/revoke/", {"reason": "issued in error"}, format="json"
    )
    assert revoked.status_code == 202 and revoked.json()["chain"]["status"] == "queued"
    kept = client.get(f"/api/credentials/{kept_id}/").json()
    assert kept["chain"]["status"] == "confirmed" and kept["chain"]["tx_hash"] == anchoring(batch).tx_hash


def test_a_batch_the_indexer_saw_first_reads_pending_until_its_transaction_is_confirmed(
    institution, api_client
):
    row, client = institution
    batch = post_batch(client, row, size=2, tag="indexer-first")
    send_queued()
    Indexer().run()  # BatchAnchored is stored and projected before the confirmer's receipt
    tx = anchoring(batch)
    assert tx.status == "sent"
    stored = Credential.objects.filter(pk__in=batch["credential_ids"]).values_list("status", flat=True)
    assert set(stored) == {CredentialStatus.ISSUED}  # the projection's chain fact, as it should be
    shown = listed(client, batch["batch_id"])
    assert {(c["status"], c["valid"], c["chain"]["status"]) for c in shown} == {("pending", False, "sent")}
    issued = client.get(f"/api/credentials/?batch={batch['batch_id']}&status=issued").json()["results"]
    assert issued == []

    confirm_pending()
    shown = listed(client, batch["batch_id"])
    assert {(c["status"], c["valid"], c["chain"]["status"]) for c in shown} == {("issued", True, "confirmed")}
    issued = client.get(f"/api/credentials/?batch={batch['batch_id']}&status=issued").json()["results"]
    assert sorted(c["id"] for c in issued) == batch["credential_ids"]


def test_a_single_credential_the_indexer_saw_first_reads_pending_too(institution):
    row, client = institution
    body = {
        "institution": row.address,
        "subject_wallet": SUBJECT,
        "credential_type": "diploma",
        "document": {"single": "indexer-first"},
    }
    issued = client.post("/api/credentials/issue/", body, format="json").json()
    send_queued()
    Indexer().run()
    assert Credential.objects.get(pk=issued["id"]).status == CredentialStatus.ISSUED
    shown = client.get(f"/api/credentials/{issued['id']}/").json()
    assert (shown["status"], shown["valid"], shown["chain"]["status"]) == ("pending", False, "sent")
    confirm_pending()
    shown = client.get(f"/api/credentials/{issued['id']}/").json()
    assert (shown["status"], shown["valid"], shown["chain"]["status"]) == ("issued", True, "confirmed")
