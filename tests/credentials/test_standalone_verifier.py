"""scripts/verify_bundle.py, the verifier a third party runs with an RPC URL and nothing of the
platform: run as a subprocess against the test node, on batches an institution built with
OpenZeppelin's tooling and anchored itself."""

from __future__ import annotations

import ast
import copy
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from credentials.fingerprints import batch_leaf
from tests.support.chain import LENDER
from tests.support.foreign_batch import (
    FOREIGN_INSTITUTION,
    anchor_foreign_batch,
    issue_foreign_credential,
    register_foreign_institution,
    revoke_foreign,
)

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

SCRIPT = Path(settings.BASE_DIR) / "scripts" / "verify_bundle.py"
SUBJECT = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"  # anvil account 3, as the other credential tests
STEPS = ["fingerprint", "contract", "anchored", "transaction", "not_revoked", "not_expired", "issuer_active"]
ALLOWED_IMPORTS = {"web3", "eth_abi", "eth_utils", "rfc8785"}


def diploma(n: int, **extra) -> dict:
    return {"name": f"Grace {n}", "degree": "MSc Computing", "year": 2026, **extra}


def run_verifier(bundle: dict | str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The script on `bundle` (fed on stdin), from a directory outside the repository."""
    text = bundle if isinstance(bundle, str) else json.dumps(bundle)
    return subprocess.run(
        [sys.executable, str(SCRIPT), "-", *args],
        input=text,
        capture_output=True,
        text=True,
        cwd=cwd or Path("/"),
        timeout=120,
        check=False,
    )


def verdict(chain, bundle: dict, *trust: str) -> tuple[int, dict]:
    """(exit status, parsed --json answer), trusting the deployed vault unless `trust` says otherwise."""
    trust = trust or ("--vault", bundle["anchor"]["contract"])
    completed = run_verifier(bundle, "--rpc", chain.url, *trust, "--json")
    assert completed.stderr == "", completed.stderr
    return completed.returncode, json.loads(completed.stdout)


def by_step(answer: dict) -> dict[str, dict]:
    return {check["step"]: check for check in answer["checks"]}


def assert_cannot_check(completed: subprocess.CompletedProcess, *words: str) -> None:
    assert completed.returncode == 2
    assert completed.stdout == ""
    message = completed.stderr.strip()
    assert "\n" not in message and "Traceback" not in message, message
    for word in words:
        assert word in message, message


@pytest.fixture
def foreign_bundles(contracts) -> list[dict]:
    """Three diplomas an active foreign institution anchored as one OpenZeppelin-built batch."""
    register_foreign_institution(FOREIGN_INSTITUTION, name="Foreign Bank")
    return anchor_foreign_batch(
        institution_address=FOREIGN_INSTITUTION,
        documents=[diploma(i) for i in range(3)],
        subject=SUBJECT,
        credential_type="diploma",
    )


def test_the_script_imports_nothing_from_the_platform():
    tree = ast.parse(SCRIPT.read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert imported - {"__future__"} - set(sys.stdlib_module_names) <= ALLOWED_IMPORTS


def test_a_foreign_oz_built_batch_bundle_is_valid(chain, foreign_bundles):
    for bundle in foreign_bundles:  # the platform's leaf scheme is OpenZeppelin's
        credential = bundle["credential"]
        expected = batch_leaf(
            fingerprint=credential["fingerprint"],
            subject=credential["subject"],
            credential_type="diploma",
            expires_at=None,
        )
        assert bundle["anchor"]["leaf"] == "0x" + expected.hex()

    for bundle in foreign_bundles:
        status, answer = verdict(chain, bundle)
        assert status == 0 and answer["outcome"] == "valid" and answer["valid"] is True
        assert all(check["ok"] is True for check in answer["checks"]), answer
        issuer = by_step(answer)["issuer_active"]["detail"]
        assert "Foreign Bank" in issuer and FOREIGN_INSTITUTION in issuer

    human = run_verifier(
        foreign_bundles[0], "--rpc", chain.url, "--vault", foreign_bundles[0]["anchor"]["contract"]
    )
    assert human.returncode == 0, human.stderr
    lines = human.stdout.strip().splitlines()
    assert len(lines) == 8 and all(line.startswith("✓ ") for line in lines[:7])
    assert lines[-1] == "Result: VALID"


def test_big_integers_follow_the_platforms_json_number_rule(chain, contracts):
    register_foreign_institution(FOREIGN_INSTITUTION)
    exact = diploma(1, serial=2**53, appendix_b=295147905179352830000)  # both exactly a double
    (bundle,) = anchor_foreign_batch(
        institution_address=FOREIGN_INSTITUTION, documents=[exact], subject=SUBJECT, credential_type="kyc"
    )
    assert verdict(chain, bundle)[0] == 0

    inexact = copy.deepcopy(bundle)
    inexact["credential"]["document"]["serial"] = 2**53 + 1  # no double is this number: refused, not hashed
    completed = run_verifier(inexact, "--rpc", chain.url, "--trust-bundle-contract")
    assert_cannot_check(completed, str(2**53 + 1))


def test_an_altered_document_is_a_fingerprint_mismatch(chain, foreign_bundles):
    altered = copy.deepcopy(foreign_bundles[0])
    altered["credential"]["document"]["degree"] = "PhD Computing"
    status, answer = verdict(chain, altered)
    assert status == 1 and answer["outcome"] == "fingerprint_mismatch" and answer["valid"] is False
    assert by_step(answer)["fingerprint"]["ok"] is False
    assert (
        by_step(answer)["anchored"]["ok"] is True
    )  # the claimed fingerprint is anchored; the document is not it

    human = run_verifier(altered, "--rpc", chain.url, "--vault", altered["anchor"]["contract"])
    assert human.returncode == 1
    assert human.stdout.splitlines()[0].startswith("✗ fingerprint")
    assert human.stdout.strip().splitlines()[-1] == "Result: NOT VALID (fingerprint_mismatch)"


def test_a_proof_of_another_leaf_or_a_tampered_proof_is_not_found(chain, foreign_bundles):
    borrowed = copy.deepcopy(foreign_bundles[0])
    borrowed["anchor"]["proof"] = foreign_bundles[1]["anchor"]["proof"]
    tampered = copy.deepcopy(foreign_bundles[0])
    sibling = tampered["anchor"]["proof"][0]
    tampered["anchor"]["proof"][0] = sibling[:-1] + ("0" if sibling[-1] != "0" else "1")

    for bundle in (borrowed, tampered):
        status, answer = verdict(chain, bundle)
        steps = by_step(answer)
        assert status == 1 and answer["outcome"] == "not_found"
        assert steps["fingerprint"]["ok"] is True and steps["anchored"]["ok"] is False
        assert "proof" in steps["anchored"]["detail"]
        assert [steps[s]["ok"] for s in STEPS[4:]] == [None, None, None]


def test_a_single_credential_is_valid_until_its_institution_revokes_it(chain, contracts):
    register_foreign_institution(FOREIGN_INSTITUTION, name="Foreign Bank")
    bundle = issue_foreign_credential(
        institution_address=FOREIGN_INSTITUTION, document=diploma(5), subject=SUBJECT, credential_type="kyc"
    )
    status, answer = verdict(chain, bundle)
    assert status == 0 and all(check["ok"] is True for check in answer["checks"]), answer

    revoke_foreign(bundle, institution_address=FOREIGN_INSTITUTION)
    status, answer = verdict(chain, bundle)
    assert status == 1 and answer["outcome"] == "revoked"
    assert by_step(answer)["not_revoked"]["ok"] is False


def test_a_single_bundle_claiming_other_fields_is_not_found(chain, contracts):
    register_foreign_institution(FOREIGN_INSTITUTION)
    first, second = (
        issue_foreign_credential(
            institution_address=FOREIGN_INSTITUTION,
            document=diploma(n),
            subject=SUBJECT,
            credential_type="kyc",
        )
        for n in (1, 2)
    )
    another_id = copy.deepcopy(first)
    another_id["anchor"]["credential_id"] = second["anchor"]["credential_id"]
    later_expiry = copy.deepcopy(first)
    later_expiry["credential"]["expires_at"] = 2**40
    for bundle in (another_id, later_expiry):
        status, answer = verdict(chain, bundle)
        assert status == 1 and answer["outcome"] == "not_found"
        assert by_step(answer)["anchored"]["ok"] is False

    # The vault keeps a single credential's type only in its CredentialIssued log: the transaction says.
    another_type = copy.deepcopy(first)
    another_type["credential"].update(type=None, type_hash="0x" + "ab" * 32)
    status, answer = verdict(chain, another_type)
    steps = by_step(answer)
    assert status == 1 and answer["outcome"] == "not_found"
    assert steps["anchored"]["ok"] is True and steps["transaction"]["ok"] is False


def test_a_leaf_the_institution_revoked_is_revoked(chain, foreign_bundles):
    revoke_foreign(foreign_bundles[1], institution_address=FOREIGN_INSTITUTION)
    status, answer = verdict(chain, foreign_bundles[1])
    assert status == 1 and answer["outcome"] == "revoked"
    assert by_step(answer)["not_revoked"]["ok"] is False
    assert verdict(chain, foreign_bundles[0])[0] == 0  # only that leaf


def test_an_expiry_in_the_past_is_expired(chain, contracts):
    from blockchain.chain.client import get_web3

    register_foreign_institution(FOREIGN_INSTITUTION)
    past = get_web3().eth.get_block("latest")["timestamp"] - 1
    (bundle,) = anchor_foreign_batch(
        institution_address=FOREIGN_INSTITUTION,
        documents=[diploma(7)],
        subject=SUBJECT,
        credential_type="diploma",
        expires_at=past,
    )
    status, answer = verdict(chain, bundle)
    steps = by_step(answer)
    assert status == 1 and answer["outcome"] == "expired"
    assert steps["not_expired"]["ok"] is False and steps["anchored"]["ok"] is True
    assert steps["issuer_active"]["ok"] is True


def test_an_issuer_deactivated_after_anchoring_is_inactive(chain, foreign_bundles):
    register_foreign_institution(FOREIGN_INSTITUTION, name="Foreign Bank", active=False)
    status, answer = verdict(chain, foreign_bundles[0])
    steps = by_step(answer)
    assert status == 1 and answer["outcome"] == "issuer_inactive"
    assert steps["issuer_active"]["ok"] is False and FOREIGN_INSTITUTION in steps["issuer_active"]["detail"]
    assert all(steps[s]["ok"] is True for s in STEPS[:-1])


def test_a_vault_other_than_the_trusted_one_fails_the_contract_check(chain, foreign_bundles):
    status, answer = verdict(chain, foreign_bundles[0], "--vault", LENDER)
    steps = by_step(answer)
    assert status == 1 and answer["outcome"] == "not_found"
    assert steps["contract"]["ok"] is False and LENDER in steps["contract"]["detail"]
    assert [steps[s]["ok"] for s in STEPS[2:]] == [None] * 5

    status, answer = verdict(chain, foreign_bundles[0], "--trust-bundle-contract")
    assert status == 0 and "--trust-bundle-contract" in by_step(answer)["contract"]["detail"]


def test_another_transaction_fails_the_transaction_check(chain, foreign_bundles):
    (other,) = anchor_foreign_batch(
        institution_address=FOREIGN_INSTITUTION,
        documents=[diploma(9)],
        subject=SUBJECT,
        credential_type="diploma",
    )
    same_block = copy.deepcopy(foreign_bundles[0])
    same_block["anchor"]["tx_hash"] = other["anchor"]["tx_hash"]  # anchors another root
    same_block["anchor"]["block_number"] = other["anchor"]["block_number"]
    wrong_block = copy.deepcopy(foreign_bundles[0])
    wrong_block["anchor"]["tx_hash"] = other["anchor"]["tx_hash"]

    for bundle, words in (
        (same_block, "did not anchor this credential"),
        (wrong_block, "not in the bundle's block"),
    ):
        status, answer = verdict(chain, bundle)
        steps = by_step(answer)
        assert status == 1 and answer["outcome"] == "not_found"
        assert steps["anchored"]["ok"] is True and steps["transaction"]["ok"] is False
        assert words in steps["transaction"]["detail"]


@pytest.mark.parametrize(
    ("mangle", "words"),
    [
        (lambda bundle: bundle["anchor"].pop("root"), ["anchor.root"]),
        (lambda bundle: bundle.update(format="ledgerbridge.proof-bundle.v9"), ["format", "v9"]),
        (lambda bundle: bundle["credential"].update(subject="0x1234"), ["credential.subject"]),
    ],
    ids=["missing_root", "unknown_format", "bad_subject"],
)
def test_a_malformed_bundle_cannot_be_checked(chain, foreign_bundles, mangle, words):
    bundle = copy.deepcopy(foreign_bundles[0])
    mangle(bundle)
    assert_cannot_check(run_verifier(bundle, "--rpc", chain.url, "--trust-bundle-contract"), *words)


def test_unreadable_json_cannot_be_checked(chain):
    assert_cannot_check(
        run_verifier('{"format": ', "--rpc", chain.url, "--trust-bundle-contract"), "not valid JSON"
    )


def test_an_unreachable_rpc_cannot_be_checked(foreign_bundles):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    completed = run_verifier(
        foreign_bundles[0], "--rpc", f"http://127.0.0.1:{port}", "--trust-bundle-contract"
    )
    assert_cannot_check(completed, f"http://127.0.0.1:{port}")


def test_a_trusted_vault_or_the_bundles_must_be_chosen(chain, foreign_bundles):
    completed = run_verifier(foreign_bundles[0], "--rpc", chain.url)
    assert completed.returncode == 2 and completed.stdout == ""
    assert "--vault" in completed.stderr and "Traceback" not in completed.stderr


def test_json_output_lists_the_seven_steps_in_order(chain, foreign_bundles, tmp_path):
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(foreign_bundles[2]))
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), str(path), "--rpc", chain.url, "--trust-bundle-contract", "--json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    answer = json.loads(completed.stdout)
    assert set(answer) == {"outcome", "valid", "checks"}
    assert [check["step"] for check in answer["checks"]] == STEPS
    assert all(set(check) == {"step", "ok", "detail"} for check in answer["checks"])
