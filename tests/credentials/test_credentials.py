"""Credentials on anvil: institutions, single and batch issuance, revocation, every verification
outcome, chain fallback, KYC/KYB links and the verifier page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from eth_account import Account
from eth_utils import keccak

from blockchain.chain.abi import bytes32_from_hex
from blockchain.chain.bindings import bound
from blockchain.chain.merkle import verify_proof
from blockchain.indexing.indexer import Indexer
from blockchain.indexing.reconcile import run_reconcile
from blockchain.models import ChainTransaction
from credentials.fingerprints import fingerprint_of, type_hash
from credentials.models import BatchStatus, Credential, CredentialLink, CredentialStatus
from tests.support.chain import send
from tests.support.issuance import proven_company_body
from tests.support.outbox import settle_outbox
from tests.support.wallets import bind_wallet

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

SUBJECT = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"


def document(n: int = 1, **extra) -> dict:
    return {"name": f"Alice {n}", "degree": "MSc Physics", "year": 2026, **extra}


def issue(
    client, institution, *, doc=None, credential_type="diploma", subject=SUBJECT, expires_at=None
) -> dict:
    body = {
        "institution": institution.address,
        "subject_wallet": subject,
        "credential_type": credential_type,
        "document": doc or document(),
        "expires_at": expires_at,
    }
    response = client.post("/api/credentials/issue/", body, format="json")
    assert response.status_code == 202, response.json()
    return response.json()


def verify(api_client, **body) -> dict:
    response = api_client.post("/api/blockchain/verify/", body, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def test_institutions_are_public_and_cached_from_the_event(institution, api_client):
    row, _ = institution
    listed = api_client.get("/api/institutions/").json()["results"]
    assert [i["address"] for i in listed] == [row.address]
    detail = api_client.get(f"/api/institutions/{row.address.lower()}/").json()
    assert detail["kyc_provider"] is True and detail["chain"]["status"] == "confirmed"
    known, active, kyc, name, uri = bound("CredentialVault").call("institutionOf", row.address)
    assert (known, active, kyc, name, uri) == (True, True, True, "Trust Bank KYC", "ipfs://meta")


def test_single_issue_verify_and_revoke(institution, api_client):
    row, client = institution
    doc = document()
    issued = issue(client, row, doc=doc)
    assert issued["status"] == "pending" and issued["fingerprint"] == fingerprint_of(doc)
    assert issued["chain"]["status"] == "queued"
    settle_outbox()
    credential = Credential.objects.get(pk=issued["id"])
    assert credential.status == CredentialStatus.ISSUED and credential.onchain_id
    assert bound("CredentialVault").call(
        "verifyFingerprint", credential.onchain_id, bytes32_from_hex(credential.fingerprint)
    )

    # The same document with keys in another order is the same credential.
    reordered = dict(reversed(list(doc.items())))
    answer = verify(api_client, document=reordered)
    assert answer["valid"] is True and answer["outcome"] == "valid" and answer["source"] == "cache"
    assert answer["institution"] == row.address and answer["onchain_id"] == credential.onchain_id
    status = client.get(f"/api/blockchain/status/{credential.pk}/").json()  # the issuer may use ids
    assert status == {**status, "exists": True, "valid": True, "revoked": False, "source": "cache"}

    revoked = client.post(
        f"/api/credentials/{credential.pk}/revoke/", {"reason": "issued in error"}, format="json"
    )
    assert revoked.status_code == 202
    assert verify(client, credential_id=credential.pk)["valid"] is False  # revocation requested: not valid
    settle_outbox()
    credential.refresh_from_db()
    assert credential.status == CredentialStatus.REVOKED and credential.revoked_at
    answer = verify(api_client, document=doc)
    assert answer["outcome"] == "revoked" and answer["revoked"] is True
    again = client.post(f"/api/credentials/{credential.pk}/revoke/", {"reason": "again"}, format="json")
    assert again.status_code == 409
    Indexer().run()
    assert run_reconcile().drift_count == 0


@pytest.mark.parametrize("size", [1, 2, 3, 256, 1000])
def test_batch_of_n_is_one_transaction_and_every_proof_verifies(institution, api_client, size):
    row, client = institution
    items = [
        {"subject_wallet": SUBJECT, "credential_type": "diploma", "document": document(i, batch=size)}
        for i in range(size)
    ]
    response = client.post(
        "/api/credentials/batch/", {"institution": row.address, "credentials": items}, format="json"
    )
    assert response.status_code == 202, response.json()
    batch = response.json()
    assert batch["count"] == size and batch["chain"]["status"] == "queued"
    settle_outbox()
    txs = ChainTransaction.objects.filter(kind="credentials.anchor_batch")
    assert txs.count() == 1 and txs.get().status == "confirmed"
    credentials = list(Credential.objects.filter(batch__merkle_root=batch["merkle_root"]))
    assert len(credentials) == size and {c.status for c in credentials} == {CredentialStatus.ISSUED}
    root = bytes32_from_hex(batch["merkle_root"])
    for credential in credentials:
        assert verify_proof(
            root=root,
            leaf=bytes32_from_hex(credential.leaf),
            proof=[bytes32_from_hex(p) for p in credential.proof],
        )
    vault = bound("CredentialVault")
    for credential in credentials[:: max(1, size // 10)]:  # on chain too, for a spread of leaves
        valid, revoked, expired = vault.call(
            "verifyBatchCredential",
            root,
            bytes32_from_hex(credential.fingerprint),
            credential.subject_wallet,
            type_hash("diploma"),
            0,
            [bytes32_from_hex(p) for p in credential.proof],
        )
        assert (valid, revoked, expired) == (True, False, False)
    assert verify(api_client, document=document(0, batch=size))["valid"] is True


def test_revoking_a_batched_credential_revokes_only_its_leaf(institution, api_client):
    row, client = institution
    items = [
        {"subject_wallet": SUBJECT, "credential_type": "diploma", "document": document(i, b="r")}
        for i in range(3)
    ]
    batch = client.post(
        "/api/credentials/batch/", {"institution": row.address, "credentials": items}, format="json"
    ).json()
    settle_outbox()
    first, second, _third = Credential.objects.filter(batch__merkle_root=batch["merkle_root"]).order_by("id")
    assert (
        client.post(f"/api/credentials/{first.pk}/revoke/", {"reason": "fraud"}, format="json").status_code
        == 202
    )
    settle_outbox()
    first.refresh_from_db()
    assert first.status == CredentialStatus.REVOKED
    assert bound("CredentialVault").call(
        "isLeafRevoked", bytes32_from_hex(batch["merkle_root"]), bytes32_from_hex(first.leaf)
    )
    assert verify(client, credential_id=first.pk)["outcome"] == "revoked"
    assert verify(client, credential_id=second.pk)["outcome"] == "valid"
    assert ChainTransaction.objects.filter(kind="credentials.revoke_leaf").count() == 1


def test_every_verification_outcome(institution, api_client, operator, chain):
    row, client = institution
    valid = issue(client, row, doc=document(10))
    expiring = issue(
        client, row, doc=document(11), expires_at=(timezone.now() + timedelta(hours=1)).isoformat()
    )
    settle_outbox()
    assert verify(api_client, document={"unknown": "document"})["outcome"] == "not_found"
    # Verification by id: for who may see the credential (here its institution and an operator).
    assert verify(operator, credential_id=999_999)["outcome"] == "not_found"
    mismatch = verify(client, credential_id=valid["id"], fingerprint=fingerprint_of(document(99)))
    assert mismatch["outcome"] == "fingerprint_mismatch" and mismatch["valid"] is False

    # expiry: the cache compares with now; the chain with block time
    Credential.objects.filter(pk=expiring["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert verify(client, credential_id=expiring["id"])["outcome"] == "expired"
    chain.rpc("evm_increaseTime", 7200)
    chain.mine(1)
    onchain = Credential.objects.get(pk=expiring["id"]).onchain_id
    status = bound("CredentialVault").call("credentialStatus", onchain)
    assert status[2] is True  # expired on chain too

    # the institution is deactivated: its credentials stop being valid
    operator.post(
        "/api/institutions/",
        {"address": row.address, "name": row.name, "kyc_provider": True, "active": False},
        format="json",
    )
    settle_outbox()
    assert verify(client, credential_id=valid["id"])["outcome"] == "issuer_inactive"
    refused = client.post(
        "/api/credentials/issue/",
        {
            "institution": row.address,
            "subject_wallet": SUBJECT,
            "credential_type": "diploma",
            "document": document(12),
        },
        format="json",
    )
    assert refused.status_code == 409 and refused.json()["code"] == "institution_inactive"


def test_chain_fallback_for_a_credential_issued_by_a_direct_contract_call(institution, api_client, operator):
    row, _ = institution
    doc = {"issued": "outside the platform", "n": 1}
    fingerprint = fingerprint_of(doc)
    request = (
        row.address,
        SUBJECT,
        type_hash("diploma"),
        bytes32_from_hex(fingerprint),
        keccak(text="ext-1"),
        0,
    )
    send(bound("CredentialVault").address, "CredentialVault", "issueCredential", request)

    first = verify(api_client, document=doc)
    assert first["valid"] is True and first["source"] == "chain" and first["onchain_id"] == 1
    assert first["institution"] == row.address and first["institution_name"] == row.name
    assert (
        verify(api_client, fingerprint=fingerprint)["source"] == "chain"
    )  # answered from the cached chain read

    Indexer().run()  # the indexer records it from CredentialIssued
    known = Credential.objects.get(fingerprint=fingerprint)
    assert (
        known.document is None
        and known.credential_type == "diploma"
        and known.status == CredentialStatus.ISSUED
    )
    assert verify(api_client, document=doc)["source"] == "cache"
    assert operator.get("/api/blockchain/status/1/?onchain=1").json()["valid"] is True


def test_bad_input_gets_400(institution, api_client):
    row, client = institution
    for body, field in [
        ({"document": []}, "document"),
        ({"document": {}}, "document"),
        ({"credential_type": "passport"}, "credential_type"),
        ({"subject_wallet": "0x123"}, "subject_wallet"),
        ({"institution": "0x" + "00" * 20}, "institution"),
        ({"expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
    ]:
        payload = {
            "institution": row.address,
            "subject_wallet": SUBJECT,
            "credential_type": "diploma",
            "document": document(5),
            **body,
        }
        response = client.post("/api/credentials/issue/", payload, format="json")
        assert response.status_code == 400 and field in response.json()["errors"], (body, response.json())
    too_many = [
        {"subject_wallet": SUBJECT, "credential_type": "diploma", "document": {"i": i}} for i in range(1001)
    ]
    response = client.post(
        "/api/credentials/batch/", {"institution": row.address, "credentials": too_many}, format="json"
    )
    assert response.status_code == 400
    assert api_client.post("/api/blockchain/verify/", {}, format="json").status_code == 400
    issue(client, row, doc=document(6))
    duplicate = client.post(
        "/api/credentials/issue/",
        {
            "institution": row.address,
            "subject_wallet": SUBJECT,
            "credential_type": "diploma",
            "document": document(6),
        },
        format="json",
    )
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "duplicate_credential"


def test_who_may_issue_and_see(institution, auth_client, api_client):
    row, client = institution
    outsider = auth_client("institution")  # not a member of this institution
    response = outsider.post(
        "/api/credentials/issue/",
        {
            "institution": row.address,
            "subject_wallet": SUBJECT,
            "credential_type": "diploma",
            "document": document(7),
        },
        format="json",
    )
    assert response.status_code == 403
    assert auth_client("investor").post("/api/credentials/issue/", {}, format="json").status_code == 403
    issued = issue(client, row, doc=document(8))
    assert outsider.get(f"/api/credentials/{issued['id']}/").status_code == 404
    assert client.get(f"/api/credentials/{issued['id']}/").status_code == 200
    assert auth_client("compliance").get("/api/credentials/").json()["count"] == 1
    assert api_client.get("/api/credentials/").status_code == 401


def test_kyc_from_a_linked_credential_and_its_revocation_closes_the_gate(institution, auth_client):
    from accounts.models import User
    from core.api import StateConflict
    from credentials.selectors import require_valid_kyc

    row, client = institution
    investor = auth_client("investor")
    me = investor.get("/api/auth/me/").json()
    assert me["kyc"]["status"] == "none"
    wallet = bind_wallet(investor)
    user = User.objects.get(pk=me["id"])
    with pytest.raises(StateConflict) as refused:
        require_valid_kyc(user)
    assert refused.value.code == "kyc_none"

    kyc = issue(
        client,
        row,
        doc={"kyc": "passed", "level": 2, "wallet": wallet.address},
        credential_type="kyc",
        subject=wallet.address,
    )
    settle_outbox()
    assert CredentialLink.objects.filter(user=user, purpose="kyc", credential_id=kyc["id"]).exists()
    me = investor.get("/api/auth/me/").json()
    assert me["kyc"] == {**me["kyc"], "status": "valid", "credential_id": kyc["id"]}
    assert require_valid_kyc(user).pk == kyc["id"]

    client.post(f"/api/credentials/{kyc['id']}/revoke/", {"reason": "sanctions hit"}, format="json")
    settle_outbox()
    assert investor.get("/api/auth/me/").json()["kyc"]["status"] == "revoked"
    with pytest.raises(StateConflict) as refused:
        require_valid_kyc(user)
    assert refused.value.code == "kyc_revoked" and refused.value.status_code == 409


def test_kyc_from_a_non_provider_institution_does_not_count(institution, operator, auth_client):
    row, client = institution
    operator.post(
        "/api/institutions/", {"address": row.address, "name": row.name, "kyc_provider": False}, format="json"
    )
    settle_outbox()
    investor = auth_client("investor")
    wallet = bind_wallet(investor)
    issue(
        client, row, doc={"kyc": "passed", "w": wallet.address}, credential_type="kyc", subject=wallet.address
    )
    settle_outbox()
    assert investor.get("/api/auth/me/").json()["kyc"]["status"] == "none"


def test_kyb_credential_becomes_the_registered_vc_hash(institution, auth_client):
    row, client = institution
    issuer = auth_client("issuer")
    company_wallet = Account.create()
    kyb = issue(
        client,
        row,
        doc={"kyb": "ok", "wallet": company_wallet.address},
        credential_type="kyb",
        subject=company_wallet.address,
    )
    settle_outbox()
    company = issuer.post(
        "/api/issuers/",
        proven_company_body(issuer, wallet=company_wallet, legal_name="Linked GmbH"),
        format="json",
    ).json()  # the proven wallet's KYB credential is linked on creation
    assert CredentialLink.objects.filter(credential_id=kyb["id"], company_id=company["id"]).exists()
    approved = auth_client("compliance").post(
        f"/api/issuers/{company['id']}/review/", {"decision": "approve"}, format="json"
    )
    assert approved.json()["kyb_credential_id"] == str(kyb["id"])
    assert approved.json()["kyb_credential_fingerprint"] == kyb["fingerprint"]


def test_verifier_page(institution, client):
    row, api = institution
    doc = document(42)
    issue(api, row, doc=doc)
    settle_outbox()
    page = client.get("/verify/")
    assert page.status_code == 200 and b"<form" in page.content
    import json

    valid = client.post("/verify/", {"document": json.dumps(doc)})
    assert b'data-outcome="valid"' in valid.content and row.name.encode() in valid.content
    unknown = client.post("/verify/", {"document": json.dumps({"x": 1})})
    assert b'data-outcome="not_found"' in unknown.content
    broken = client.post("/verify/", {"document": "{not json"})
    assert b'data-outcome="error"' in broken.content and b"not JSON" in broken.content
    from django.core.files.uploadedfile import SimpleUploadedFile

    uploaded = client.post("/verify/", {"file": SimpleUploadedFile("c.json", json.dumps(doc).encode())})
    assert b'data-outcome="valid"' in uploaded.content


def test_batch_failure_fails_every_credential_of_the_batch(institution, operator):
    row, client = institution
    # The institution is deactivated on chain behind the platform's back: anchorBatch reverts.
    send(
        bound("CredentialVault").address,
        "CredentialVault",
        "upsertInstitution",
        row.address,
        row.name,
        "",
        True,
        False,
    )
    items = [
        {"subject_wallet": SUBJECT, "credential_type": "diploma", "document": {"f": i}} for i in range(2)
    ]
    batch = client.post(
        "/api/credentials/batch/", {"institution": row.address, "credentials": items}, format="json"
    ).json()
    settle_outbox()
    from credentials.models import CredentialBatch

    stored = CredentialBatch.objects.get(merkle_root=batch["merkle_root"])
    assert stored.status == BatchStatus.FAILED and "InstitutionInactive" in stored.last_chain_error
    assert set(stored.credentials.values_list("status", flat=True)) == {CredentialStatus.FAILED}
