"""Partners hear credentials issued and revoked when the API shows them so: a single credential when
its anchoring is confirmed, every member of a Merkle batch when the batch's anchoring is — even when
the indexer stored the event first — and a revocation when it is confirmed."""

from __future__ import annotations

import pytest

from blockchain.indexing.indexer import Indexer
from blockchain.outbox.confirmer import confirm_pending
from blockchain.outbox.sender import send_queued
from tests.credentials.test_batch_statuses import SUBJECT, post_batch
from tests.support.outbox import settle_outbox
from tests.support.webhook_receiver import partner_endpoint

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

EVENTS = ["credential.issued", "credential.revoked", "credential.updated"]


@pytest.fixture
def partner(operator):
    with partner_endpoint(operator, EVENTS) as receiver:
        yield receiver


def test_a_credential_issued_then_revoked_is_announced_at_each_confirmation(institution, partner):
    row, client = institution
    body = {
        "institution": row.address,
        "subject_wallet": SUBJECT,
        "credential_type": "diploma",
        "document": {"n": 1},
    }
    credential = client.post("/api/credentials/issue/", body, format="json").json()
    assert partner.events() == []
    settle_outbox()
    events = partner.events()
    assert [t for t, _ in events] == ["credential.issued"]
    data = events[0][1]
    assert data["id"] == credential["id"] and data["status"] == "issued" and data["valid"] is True

    response = client.post(
        f"/api/credentials/{credential['id']}/revoke/", {"reason": "issued in error"}, format="json"
    )
    assert response.status_code == 202
    events = partner.events()
    assert [t for t, _ in events] == ["credential.issued", "credential.updated"], "revoking is not revoked"
    assert events[1][1]["status"] == "revoking"
    settle_outbox()
    Indexer().run()
    events = partner.events()
    assert [t for t, _ in events] == ["credential.issued", "credential.updated", "credential.revoked"]
    assert events[2][1]["status"] == "revoked"


def test_every_member_of_a_batch_is_announced_when_the_batch_is_confirmed_even_if_indexed_first(
    institution, partner
):
    row, client = institution
    batch = post_batch(client, row, size=3, tag="events")
    send_queued()  # broadcast; anvil mines it at once
    Indexer().run()  # the indexer stores BatchAnchored while the outbox row still reads `sent`
    assert partner.events() == [], "pending until the anchoring is confirmed"
    confirm_pending()
    events = partner.events()
    assert sorted(data["id"] for _t, data in events) == sorted(batch["credential_ids"])
    assert {t for t, _ in events} == {"credential.issued"}
    assert {data["batch_id"] for _t, data in events} == {batch["batch_id"]}
