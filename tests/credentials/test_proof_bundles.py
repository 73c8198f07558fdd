"""Proof bundles (#22 item 3, docs/proof-bundles.md): who downloads one, and that the API and the
standalone script check it against the chain alike, for a single credential, a member of a batch
the platform built and a batch an institution built with OpenZeppelin's tooling and anchored itself."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from credentials.models import Credential, CredentialStatus
from tests.credentials.test_credentials import SUBJECT, document, issue
from tests.support.foreign_batch import (
    FOREIGN_INSTITUTION,
    anchor_foreign_batch,
    register_foreign_institution,
)
from tests.support.outbox import settle_outbox
from tests.support.wallets import bind_wallet

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

STEPS = ["fingerprint", "contract", "anchored", "transaction", "not_revoked", "not_expired", "issuer_active"]
SCRIPT = Path(settings.BASE_DIR) / "scripts" / "verify_bundle.py"


def check_by_api(api_client, bundle: dict) -> dict:
    response = api_client.post("/api/blockchain/verify/", {"bundle": bundle}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def check_by_script(chain, bundle: dict) -> dict:
    completed = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "-",
            "--rpc",
            chain.url,
            "--vault",
            bundle["anchor"]["contract"],
            "--json",
        ],
        input=json.dumps(bundle),
        capture_output=True,
        text=True,
        cwd="/",
        timeout=120,
        check=False,
    )
    assert completed.returncode in (0, 1), completed.stderr
    return json.loads(completed.stdout)


def verdicts(answer: dict) -> list[tuple[str, bool | None]]:
    return [(item["step"], item["ok"]) for item in answer["checks"]]


def assert_agree(api_client, chain, bundle: dict, outcome: str) -> dict:
    """The API and the standalone script reach `outcome` through the same steps."""
    by_api, by_script = check_by_api(api_client, bundle), check_by_script(chain, bundle)
    assert by_api["outcome"] == by_script["outcome"] == outcome, (by_api["checks"], by_script["checks"])
    assert [step for step, _ok in verdicts(by_api)] == STEPS
    assert verdicts(by_api) == verdicts(by_script)
    assert by_api["valid"] is by_script["valid"] is (outcome == "valid")
    return by_api


@pytest.fixture
def single(institution, auth_client):
    """An anchored diploma of a subject with a bound wallet: (credential, subject's client)."""
    row, member = institution
    subject = auth_client("investor")
    wallet = bind_wallet(subject)
    issued = issue(member, row, doc=document(1, who="single"), subject=wallet.address)
    settle_outbox()
    return Credential.objects.get(pk=issued["id"]), subject


@pytest.fixture
def batch_member(institution) -> Credential:
    row, member = institution
    items = [
        {"subject_wallet": SUBJECT, "credential_type": "diploma", "document": document(i, who="batch")}
        for i in range(3)
    ]
    response = member.post(
        "/api/credentials/batch/", {"institution": row.address, "credentials": items}, format="json"
    )
    assert response.status_code == 202, response.json()
    settle_outbox()
    return Credential.objects.filter(batch__merkle_root=response.json()["merkle_root"]).order_by("id")[1]


def test_the_subject_the_institution_compliance_and_share_holders_download_the_bundle(
    single, institution, auth_client, api_client
):
    credential, subject = single
    _row, member = institution
    path = f"/api/credentials/{credential.pk}/proof/"
    bundles = [
        caller.get(path) for caller in (subject, member, auth_client("compliance"), auth_client("operator"))
    ]
    bundles.append(api_client.get(f"/api/credentials/{credential.share_id}/proof/"))
    assert {response.status_code for response in bundles} == {200}
    assert {response.content for response in bundles} == {bundles[0].content}
    bundle = bundles[0].json()
    assert bundle["format"] == "ledgerbridge.proof-bundle.v1"
    assert bundle["credential"]["document"] == credential.document
    assert bundle["credential"]["fingerprint"] == credential.fingerprint
    assert bundle["anchor"]["kind"] == "single" and bundle["anchor"]["credential_id"] == credential.onchain_id
    assert bundle["anchor"]["tx_hash"] == credential.issued_tx_hash and bundle["anchor"]["block_number"] > 0
    assert bundles[0]["Cache-Control"] == "private, no-store"

    # Anyone else: the 404 of a missing credential, by numeric id.
    missing = f"/api/credentials/{credential.pk + 1000}/proof/"
    refused = [
        caller.get(target)
        for caller in (api_client, auth_client("investor"), auth_client("institution"))
        for target in (path, missing)
    ]
    refused.append(api_client.get("/api/credentials/AAAAAAAAAAAAAAAAAAAAAA/proof/"))
    assert {response.status_code for response in refused} == {404}
    assert {response.content for response in refused} == {refused[0].content}


def test_no_bundle_before_anchoring_or_without_a_document(institution, operator):
    row, member = institution
    pending = issue(member, row, doc=document(2, who="pending"))
    response = operator.get(f"/api/credentials/{pending['id']}/proof/")
    assert response.status_code == 409 and response.json()["code"] == "not_anchored"
    settle_outbox()
    Credential.objects.filter(pk=pending["id"]).update(document=None)  # as one only seen on chain
    response = operator.get(f"/api/credentials/{pending['id']}/proof/")
    assert response.status_code == 409 and response.json()["code"] == "document_unknown"


def test_a_single_credentials_bundle_is_valid_by_api_and_script_and_tells_its_steps(
    single, api_client, chain
):
    credential, subject = single
    bundle = subject.get(f"/api/credentials/{credential.pk}/proof/").json()
    answer = assert_agree(api_client, chain, bundle, "valid")
    steps = {item["step"]: item["detail"] for item in answer["checks"]}
    assert (
        credential.issued_tx_hash in steps["transaction"]
        and str(bundle["anchor"]["block_number"]) in steps["transaction"]
    )
    assert credential.institution.name in steps["issuer_active"]
    assert answer["source"] == "chain" and answer["block_number"] == bundle["anchor"]["block_number"]


def test_a_platform_batch_members_bundle_is_valid_by_api_and_script(
    batch_member, operator, api_client, chain
):
    bundle = operator.get(f"/api/credentials/{batch_member.pk}/proof/").json()
    assert bundle["anchor"]["kind"] == "batch" and bundle["anchor"]["root"] == batch_member.batch.merkle_root
    assert bundle["anchor"]["leaf"] == batch_member.leaf and bundle["anchor"]["proof"] == batch_member.proof
    assert_agree(api_client, chain, bundle, "valid")


def test_a_batch_an_institution_built_with_openzeppelin_and_anchored_itself_is_valid(
    contracts, api_client, chain
):
    """Today's `not_found` of issue #22: the platform never saw this batch, the chain did."""
    register_foreign_institution(FOREIGN_INSTITUTION, name="Foreign Bank")
    bundles = anchor_foreign_batch(
        institution_address=FOREIGN_INSTITUTION,
        documents=[document(i, who="foreign") for i in range(3)],
        subject=SUBJECT,
        credential_type="diploma",
    )
    answer = assert_agree(api_client, chain, bundles[2], "valid")
    assert "Foreign Bank" in {item["step"]: item["detail"] for item in answer["checks"]}["issuer_active"]
    assert not Credential.objects.filter(fingerprint=bundles[2]["credential"]["fingerprint"]).exists()


def test_tampered_bundles_fail_the_step_that_catches_them(batch_member, single, operator, api_client, chain):
    bundle = operator.get(f"/api/credentials/{batch_member.pk}/proof/").json()

    altered = copy.deepcopy(bundle)
    altered["credential"]["document"]["grade"] = "A+"
    answer = assert_agree(api_client, chain, altered, "fingerprint_mismatch")
    assert dict(verdicts(answer))["fingerprint"] is False and "altered" in answer["checks"][0]["detail"]

    other_proof = copy.deepcopy(bundle)
    other_proof["anchor"]["proof"] = [*reversed(bundle["anchor"]["proof"]), "0x" + "11" * 32]
    assert dict(verdicts(assert_agree(api_client, chain, other_proof, "not_found")))["anchored"] is False

    other_subject = copy.deepcopy(bundle)
    other_subject["credential"]["subject"] = FOREIGN_INSTITUTION
    assert_agree(api_client, chain, other_subject, "not_found")

    credential, _subject = single
    wrong_tx = copy.deepcopy(bundle)
    wrong_tx["anchor"]["tx_hash"] = credential.issued_tx_hash  # a real vault transaction, not this one's
    checks = dict(verdicts(assert_agree(api_client, chain, wrong_tx, "not_found")))
    assert checks["anchored"] is True and checks["transaction"] is False

    elsewhere = copy.deepcopy(bundle)
    elsewhere["anchor"]["contract"] = FOREIGN_INSTITUTION
    answer = check_by_api(api_client, elsewhere)  # the script would trust what --vault names
    assert answer["outcome"] == "not_found"
    assert verdicts(answer)[1:3] == [("contract", False), ("anchored", None)]


def test_a_revoked_credentials_bundle_says_revoked(single, institution, api_client, chain):
    credential, subject = single
    _row, member = institution
    bundle = subject.get(f"/api/credentials/{credential.pk}/proof/").json()
    response = member.post(f"/api/credentials/{credential.pk}/revoke/", {"reason": "fraud"}, format="json")
    assert response.status_code == 202
    settle_outbox()
    credential.refresh_from_db()
    assert credential.status == CredentialStatus.REVOKED
    from django.core.cache import cache

    cache.clear()  # the first answer was cached for CREDENTIAL_CHAIN_CACHE_SECONDS
    assert_agree(api_client, chain, bundle, "revoked")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b["anchor"].pop("root"), "root"),
        (lambda b: b["anchor"].update(kind="tree"), "kind"),
        (lambda b: b.update(format="blockcerts"), "format"),
        (lambda b: b["credential"].update(subject="0x1234"), "subject"),
        (lambda b: b["credential"].update(document=[]), "document"),
    ],
)
def test_a_malformed_bundle_is_a_400_naming_the_field(batch_member, operator, api_client, change, field):
    bundle = operator.get(f"/api/credentials/{batch_member.pk}/proof/").json()
    change(bundle)
    response = api_client.post("/api/blockchain/verify/", {"bundle": bundle}, format="json")
    assert response.status_code == 400 and field in json.dumps(response.json()), response.json()


def test_plain_verifications_list_their_steps_too(single, api_client):
    credential, _subject = single
    answer = api_client.post(
        "/api/blockchain/verify/", {"document": credential.document}, format="json"
    ).json()
    assert answer["outcome"] == "valid"
    assert verdicts(answer) == [
        ("fingerprint", True),
        ("anchored", True),
        ("not_revoked", True),
        ("not_expired", True),
        ("issuer_active", True),
    ]
    unknown = api_client.post("/api/blockchain/verify/", {"document": {"forged": True}}, format="json").json()
    assert unknown["outcome"] == "not_found"
    assert (
        dict(verdicts(unknown))["anchored"] is False
        and "altered or never issued" in unknown["checks"][1]["detail"]
    )


def test_a_bundle_with_numbers_a_double_cannot_hold_is_an_answer_not_a_server_error(
    batch_member, operator, api_client
):
    bundle = operator.get(f"/api/credentials/{batch_member.pk}/proof/").json()
    huge = copy.deepcopy(bundle)
    huge["credential"]["document"]["serial"] = 9223372036854775806  # not exactly a double
    huge["credential"]["expires_at"] = 2**64 - 1
    response = api_client.post("/api/blockchain/verify/", {"bundle": huge}, format="json")
    assert response.status_code == 200, response.content
    checks = dict((c["step"], c["ok"]) for c in response.json()["checks"])
    assert (
        checks["fingerprint"] is False and "cannot be fingerprinted" in response.json()["checks"][0]["detail"]
    )
