"""A verifier that cannot be enumerated (#20 item 12). Anonymous callers verify by fingerprint,
document or an unguessable share id; the sequential ids (the platform's and the vault's) answer only
for who may see the credential, and anyone else gets one and the same 404 whether the id exists or
not. A share id's answer names neither the subject nor the credential's type."""

from __future__ import annotations

import re

import pytest
from eth_account import Account

from credentials.fingerprints import fingerprint_of
from credentials.models import SHARE_ID_PATTERN, Credential
from tests.credentials.test_credentials import issue
from tests.support.outbox import settle_outbox
from tests.support.wallets import bind_wallet

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

STATUS_FIELDS = {"exists", "valid", "revoked", "issued_at", "revoked_at", "source"}  # API.md


@pytest.fixture
def kyc_of_someone(institution, auth_client):
    """Someone's KYC credential, anchored: (credential, its document, the subject's API client)."""
    row, member = institution
    subject = auth_client("investor")
    wallet = bind_wallet(subject)
    doc = {"kyc": "passed", "level": 2, "wallet": wallet.address}
    issued = issue(member, row, doc=doc, credential_type="kyc", subject=wallet.address)
    settle_outbox()
    credential = Credential.objects.get(pk=issued["id"])
    assert credential.onchain_id and credential.valid
    return credential, doc, subject


def _leaks(response, credential: Credential) -> list[str]:
    """What of the subject and the type a public answer shows (an address in any spelling)."""
    text = response.content.decode().lower()
    wallet = credential.subject_wallet.lower()
    return [
        leak
        for leak, found in (("subject wallet", wallet[2:] in text), ("credential type", '"kyc"' in text))
        if found
    ]


def test_ids_answer_only_who_may_see_the_credential(kyc_of_someone, institution, api_client, auth_client):
    """Counting up ids tells an anonymous caller or an outsider nothing; the subject, the issuing
    institution, compliance and operators still ask by id."""
    credential, _doc, subject = kyc_of_someone
    missing = Credential.objects.order_by("-pk").values_list("pk", flat=True)[0] + 1000
    answers = []
    for callers in (api_client, auth_client("investor"), auth_client("issuer"), auth_client("institution")):
        for pk in (credential.pk, missing):
            answers.append(callers.get(f"/api/blockchain/status/{pk}/"))
            answers.append(callers.post("/api/blockchain/verify/", {"credential_id": pk}, format="json"))
        for onchain in (credential.onchain_id, credential.onchain_id + 1000):
            answers.append(callers.get(f"/api/blockchain/status/{onchain}/?onchain=1"))
            answers.append(callers.post("/api/blockchain/verify/", {"onchain_id": onchain}, format="json"))
    assert {response.status_code for response in answers} == {404}
    assert {response.content for response in answers} == {answers[0].content}  # not even "it exists"
    assert answers[0].json()["code"] == "not_found"
    assert not [leak for response in answers for leak in _leaks(response, credential)]

    _row, member = institution
    operator_client = auth_client("operator")
    for caller in (subject, member, auth_client("compliance"), operator_client):
        status = caller.get(f"/api/blockchain/status/{credential.pk}/")
        assert status.status_code == 200 and status.json()["valid"] is True, status.json()
        onchain = caller.get(f"/api/blockchain/status/{credential.onchain_id}/?onchain=1")
        assert onchain.status_code == 200 and onchain.json()["exists"] is True
        verified = caller.post("/api/blockchain/verify/", {"credential_id": credential.pk}, format="json")
        assert verified.status_code == 200 and verified.json()["outcome"] == "valid"
    # Staff see every id, so a missing one is simply missing.
    gone = operator_client.get(f"/api/blockchain/status/{missing}/")
    assert gone.status_code == 200 and gone.json()["exists"] is False


def test_a_wrong_fingerprint_does_not_tell_an_existing_id_from_a_missing_one(kyc_of_someone, api_client):
    credential, doc, _subject = kyc_of_someone
    missing = credential.pk + 1000
    other = fingerprint_of({"another": "document"})

    def verify(**body) -> dict:
        response = api_client.post("/api/blockchain/verify/", body, format="json")
        assert response.status_code == 200, response.json()
        return response.json()

    assert verify(credential_id=credential.pk, fingerprint=other) == verify(
        credential_id=missing, fingerprint=other
    )
    assert verify(credential_id=credential.pk, fingerprint=other)["outcome"] == "not_found"
    right = fingerprint_of(doc)
    assert verify(credential_id=missing, fingerprint=right)["outcome"] == "not_found"  # another id's
    assert verify(credential_id=credential.pk, fingerprint=right)["outcome"] == "valid"  # API.md's pair
    assert verify(onchain_id=credential.onchain_id, document=doc)["outcome"] == "valid"
    assert verify(onchain_id=credential.onchain_id + 1, document=doc)["outcome"] == "not_found"


def test_a_share_id_gives_the_status_and_nothing_about_who_or_what(
    kyc_of_someone, institution, api_client, client
):
    credential, _doc, subject = kyc_of_someone
    _row, member = institution
    share_id = subject.get(f"/api/credentials/{credential.pk}/").json()["share_id"]
    assert re.fullmatch(SHARE_ID_PATTERN, share_id) and not share_id.isdigit()
    assert member.get(f"/api/credentials/{credential.pk}/").json()["share_id"] == share_id
    assert share_id == credential.share_id
    assert Credential.objects.exclude(pk=credential.pk).filter(share_id=share_id).count() == 0

    status = api_client.get(f"/api/blockchain/status/{share_id}/")
    assert status.status_code == 200 and set(status.json()) == STATUS_FIELDS
    assert status.json()["exists"] is True and status.json()["valid"] is True
    assert not _leaks(status, credential)

    verified = api_client.post("/api/blockchain/verify/", {"share_id": share_id}, format="json")
    answer = verified.json()
    assert verified.status_code == 200 and answer["outcome"] == "valid"
    assert (
        answer["fingerprint"] == credential.fingerprint
        and answer["institution"] == credential.institution.address
    )
    assert {
        k: answer[k] for k in ("subject_wallet", "credential_type", "credential_id", "onchain_id", "tx_hash")
    } == {
        "subject_wallet": None,
        "credential_type": None,
        "credential_id": None,
        "onchain_id": None,
        "tx_hash": None,
    }
    assert not _leaks(verified, credential)
    page = client.get(f"/verify/?share={share_id}")
    assert page.status_code == 200 and b'data-outcome="valid"' in page.content
    assert credential.subject_wallet.lower().encode() not in page.content.lower()
    assert b"<dt>Type</dt>" not in page.content and credential.issued_tx_hash.encode() not in page.content

    # A share id that does not exist, or is malformed, names nothing.
    unknown = "A" * 22
    assert api_client.get(f"/api/blockchain/status/{unknown}/").status_code == 404
    none = api_client.post("/api/blockchain/verify/", {"share_id": unknown}, format="json").json()
    assert none["exists"] is False and none["outcome"] == "not_found"
    assert api_client.get(f"/api/blockchain/status/{share_id[:-1]}/").status_code == 404
    assert api_client.get(f"/api/blockchain/status/{share_id}/?onchain=1").status_code == 400

    # The status follows the credential: revoked, it says so.
    member.post(f"/api/credentials/{credential.pk}/revoke/", {"reason": "issued in error"}, format="json")
    settle_outbox()
    revoked = api_client.get(f"/api/blockchain/status/{share_id}/").json()
    assert revoked["revoked"] is True and revoked["valid"] is False and revoked["revoked_at"]


def test_every_credential_gets_its_own_share_id(institution):
    row, member = institution
    items = [
        {"subject_wallet": Account.create().address, "credential_type": "diploma", "document": {"n": i}}
        for i in range(5)
    ]
    response = member.post(
        "/api/credentials/batch/", {"institution": row.address, "credentials": items}, format="json"
    )
    assert response.status_code == 202
    shares = list(Credential.objects.values_list("share_id", flat=True))
    assert len(shares) == 5 and len(set(shares)) == 5
    assert all(re.fullmatch(SHARE_ID_PATTERN, s) for s in shares)
