"""A revocation reads `revoking` until its transaction is confirmed (like a loan's `repaying`), and
the list filters by it; verification always names the anchoring transaction and its block, never
the revocation's, from the cache and from the chain."""

from __future__ import annotations

import pytest

from blockchain.indexing.indexer import Indexer
from blockchain.models import ChainTransaction
from blockchain.outbox.confirmer import confirm_pending
from blockchain.outbox.sender import send_queued
from credentials import verification
from credentials.models import Credential, CredentialStatus
from credentials.onchain.intents import ISSUE_KIND
from tests.support.outbox import settle_outbox

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

SUBJECT = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
DOCUMENT = {"name": "Alice", "degree": "MSc Physics", "year": 2026}


def issued_credential(client, institution) -> Credential:
    body = {
        "institution": institution.address,
        "subject_wallet": SUBJECT,
        "credential_type": "diploma",
        "document": DOCUMENT,
    }
    response = client.post("/api/credentials/issue/", body, format="json")
    assert response.status_code == 202, response.json()
    settle_outbox()
    return Credential.objects.get(pk=response.json()["id"])


def listed(client, status: str) -> list[int]:
    response = client.get("/api/credentials/", {"status": status})
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


def shown(client, credential) -> tuple[str, str]:
    body = client.get(f"/api/credentials/{credential.pk}/").json()
    return body["status"], body["chain"]["status"]


def test_a_revocation_reads_revoking_until_the_chain_confirms_it(institution):
    row, client = institution
    credential = issued_credential(client, row)

    revoked = client.post(f"/api/credentials/{credential.pk}/revoke/", {"reason": "in error"}, format="json")
    assert revoked.status_code == 202
    body = revoked.json()
    assert (body["status"], body["valid"], body["chain"]["status"]) == ("revoking", False, "queued")
    assert body["revocation_requested_at"] is not None
    stored = Credential.objects.get(pk=credential.pk).status
    assert stored == CredentialStatus.ISSUED  # nothing stored changed
    assert credential.pk in listed(client, "revoking") and credential.pk not in listed(client, "issued")

    send_queued()
    Indexer().run()  # CredentialRevoked applied while the revocation still reads `sent`
    assert Credential.objects.get(pk=credential.pk).status == CredentialStatus.REVOKED
    assert shown(client, credential) == ("revoking", "sent")

    confirm_pending()
    assert shown(client, credential) == ("revoked", "confirmed")
    assert listed(client, "revoking") == [] and credential.pk in listed(client, "revoked")


def test_verification_names_the_anchoring_transaction_and_block_after_a_revocation(
    institution, api_client, settings
):
    row, client = institution
    credential = issued_credential(client, row)
    anchoring = ChainTransaction.objects.get(kind=ISSUE_KIND, object_id=credential.pk)
    assert anchoring.block_number is not None

    valid = api_client.post("/api/blockchain/verify/", {"document": DOCUMENT}, format="json").json()
    assert valid["outcome"] == "valid" and valid["source"] == "cache"
    assert (valid["tx_hash"], valid["block_number"]) == (anchoring.tx_hash, anchoring.block_number)

    client.post(f"/api/credentials/{credential.pk}/revoke/", {"reason": "in error"}, format="json")
    settle_outbox()
    credential.refresh_from_db()
    assert credential.revoked_tx_hash and credential.revoked_tx_hash != anchoring.tx_hash

    answer = api_client.post("/api/blockchain/verify/", {"document": DOCUMENT}, format="json").json()
    assert answer["outcome"] == "revoked" and answer["source"] == "cache"
    assert (answer["tx_hash"], answer["block_number"]) == (anchoring.tx_hash, anchoring.block_number)
    anchored = next(step for step in answer["checks"] if step["step"] == "anchored")
    assert anchored["detail"] == (
        f"Anchored on chain in transaction {anchoring.tx_hash}, block {anchoring.block_number}."
    )

    # The chain path (a credential the cache cannot answer for) names the same transaction.
    settings.CREDENTIAL_CHAIN_CACHE_SECONDS = 0
    Credential.objects.filter(pk=credential.pk).update(status=CredentialStatus.PENDING)
    from_chain = verification.verify_credential(document=DOCUMENT)
    assert from_chain.source == "chain" and from_chain.outcome == "revoked"
    assert (from_chain.tx_hash, from_chain.block_number) == (anchoring.tx_hash, anchoring.block_number)
