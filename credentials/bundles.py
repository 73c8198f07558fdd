"""Proof bundles: one JSON file that proves a credential against the chain without the platform
(docs/proof-bundles.md is the format and the checks; `scripts/verify_bundle.py` checks one offline).

Building reads the platform's records; checking reads only the bundle and the chain, so a batch an
institution built with `@openzeppelin/merkle-tree` and anchored itself verifies like one of ours.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from datetime import UTC, datetime

from django.conf import settings
from eth_utils import keccak
from web3 import Web3

from blockchain.chain.abi import bytes32_from_hex
from blockchain.chain.bindings import NotDeployed, deployment_of
from blockchain.chain.merkle import verify_proof
from core.api import PUBLIC_CHAIN_UNAVAILABLE, ChainUnavailable, StateConflict
from core.cache import cached, keep
from core.log_format import describe_error
from credentials.fingerprints import (
    CREDENTIAL_SCHEME,
    LEAF_ENCODING,
    InvalidDocument,
    expiry_seconds,
    fingerprint_of,
    leaf_of,
    type_hash,
)
from credentials.models import Credential, CredentialStatus
from credentials.verification import VERIFICATIONS, Verification, check, issuer_detail, when

logger = logging.getLogger(__name__)

BUNDLE_FORMAT = "ledgerbridge.proof-bundle.v1"
VAULT = "CredentialVault"


def build_bundle(credential: Credential) -> dict:
    """The proof bundle of an anchored credential whose document the platform holds."""
    if credential.status not in (CredentialStatus.ISSUED, CredentialStatus.REVOKED):
        raise StateConflict(
            "The credential is not anchored yet; its proof exists once it is.", code="not_anchored"
        )
    if not credential.document:
        raise StateConflict(
            "The platform only saw this credential on chain and holds no document to put in a bundle.",
            code="document_unknown",
        )
    batch = credential.batch
    tx_hash = batch.anchored_tx_hash if batch else credential.issued_tx_hash
    anchor: dict = {
        "kind": "batch" if batch else "single",
        "chain_id": settings.CHAIN_ID,
        "contract": deployment_of(VAULT).address,
        "tx_hash": tx_hash,
        "block_number": _block_of(tx_hash),
    }
    if batch:
        anchor |= {
            "root": batch.merkle_root,
            "leaf": credential.leaf,
            "proof": list(credential.proof),
            "leaf_encoding": list(LEAF_ENCODING),
        }
    else:
        anchor["credential_id"] = credential.onchain_id
    return {
        "format": BUNDLE_FORMAT,
        "credential": {
            "scheme": CREDENTIAL_SCHEME,
            "document": credential.document,
            "fingerprint": credential.fingerprint,
            "type": credential.credential_type or None,
            "type_hash": "0x" + type_hash(credential.credential_type).hex(),
            "subject": credential.subject_wallet,
            "issuer": credential.institution.address,
            "expires_at": expiry_seconds(credential.expires_at),
        },
        "anchor": anchor,
    }


def _block_of(tx_hash: str) -> int:
    from credentials.selectors import anchoring_block

    block = anchoring_block(tx_hash)
    if block is None:  # its block left the chain: the confirmer is anchoring it again
        raise StateConflict(
            "The credential's anchoring is being confirmed again after a chain reorganisation.",
            code="not_anchored",
        )
    return block


def _same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.lower() == b.lower()


# The vault's expiry is a uint64; past the year 9999 (Python's last) it reads as that year's end.
_LAST_SECOND = int(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp())


def _time(seconds: int) -> datetime | None:
    return datetime.fromtimestamp(min(seconds, _LAST_SECOND), tz=UTC) if seconds else None


def _fingerprint_check(credential: dict) -> dict:
    try:
        computed = fingerprint_of(credential["document"])
    except InvalidDocument as exc:
        return check("fingerprint", False, f"The document cannot be fingerprinted: {exc}")
    if computed == credential["fingerprint"].lower():
        return check("fingerprint", True, f"The document hashes to its fingerprint {computed}.")
    return check(
        "fingerprint",
        False,
        f"The document was altered: it hashes to {computed}, "
        f"not to the fingerprint {credential['fingerprint']}.",
    )


def _anchored_check(credential: dict, anchor: dict, facts) -> dict:
    issuer = credential["issuer"]
    if anchor["kind"] == "single":
        exists, _revoked, _expired, _issued, _revoked_at, expires, fingerprint, institution, subject = (
            facts.credential
        )
        if not exists:
            return check(
                "anchored", False, f"The vault has no credential {anchor['credential_id']}: never issued."
            )
        if "0x" + bytes(fingerprint).hex() != credential["fingerprint"].lower():
            return check("anchored", False, f"Credential {anchor['credential_id']} has another fingerprint.")
        if not _same(subject, credential["subject"]) or not _same(institution, issuer):
            return check("anchored", False, "The vault's credential names another holder or issuer.")
        if expires != credential["expires_at"]:
            return check("anchored", False, "The vault's credential has another expiry.")
        return check("anchored", True, f"The vault holds it as credential {anchor['credential_id']}.")
    anchored, batch_id, institution, count, _at = facts.batch
    if (
        credential["type"] is not None
        and "0x" + type_hash(credential["type"]).hex() != credential["type_hash"].lower()
    ):
        return check("anchored", False, f"The type hash is not the hash of {credential['type']!r}.")
    leaf = leaf_of(
        fingerprint=credential["fingerprint"],
        subject=credential["subject"],
        credential_type_hash=bytes32_from_hex(credential["type_hash"]),
        expires_seconds=credential["expires_at"],
    )
    if "0x" + leaf.hex() != anchor["leaf"].lower():
        return check("anchored", False, "The leaf is not the hash of this credential's fields: altered.")
    proof = [bytes32_from_hex(node) for node in anchor["proof"]]
    if not verify_proof(root=bytes32_from_hex(anchor["root"]), leaf=leaf, proof=proof):
        return check("anchored", False, "The Merkle proof does not lead from the leaf to the root.")
    if not anchored:
        return check("anchored", False, "The Merkle root is not anchored in the vault: never issued.")
    if not _same(institution, issuer):
        return check("anchored", False, "The root was anchored for another institution.")
    return check("anchored", True, f"Its leaf is in batch {batch_id} ({count} credentials), by Merkle proof.")


def _transaction_check(credential: dict, anchor: dict, facts) -> dict:
    receipt = facts.receipt
    tx = anchor["tx_hash"]
    if receipt is None:
        return check("transaction", False, f"The chain has no transaction {tx}.")
    block = int(receipt["blockNumber"], 16)
    if int(receipt["status"], 16) != 1:
        return check("transaction", False, f"Transaction {tx} failed.")
    if block != anchor["block_number"] or facts.canonical_block_hash != receipt["blockHash"]:
        return check("transaction", False, f"Transaction {tx} is not in block {anchor['block_number']}.")
    if anchor["kind"] == "single":
        anchors = any(
            name == "CredentialIssued"
            and args["id"] == anchor["credential_id"]
            and args["fingerprint"].lower() == credential["fingerprint"].lower()
            and _same(args["institution"], credential["issuer"])
            and _same(args["subject"], credential["subject"])
            and args["credentialType"].lower() == credential["type_hash"].lower()
            and args["expiresAt"] == credential["expires_at"]
            for name, args in facts.vault_logs
        )
    else:
        anchors = any(
            name == "BatchAnchored"
            and args["root"].lower() == anchor["root"].lower()
            and _same(args["institution"], credential["issuer"])
            for name, args in facts.vault_logs
        )
    if not anchors:
        return check("transaction", False, f"Transaction {tx} does not anchor this credential.")
    depth = facts.block - block + 1
    return check("transaction", True, f"Anchored in transaction {tx}, block {block} ({depth} confirmations).")


def _cache_key(bundle: dict) -> str:
    # Any deterministic encoding makes a cache key; RFC 8785 would refuse numbers a double cannot hold
    # (a document may carry them: its fingerprint step then says it cannot be fingerprinted).
    encoded = json.dumps(bundle, sort_keys=True, separators=(",", ":"), default=str).encode()
    return f"credentials:bundle:{settings.CHAIN_ID}:{keccak(encoded).hex()}"


def verify_bundle(bundle: dict) -> Verification:
    """Check a (shape-validated) proof bundle against the chain, step by step (docs/proof-bundles.md).
    Chain reads are cached for CREDENTIAL_CHAIN_CACHE_SECONDS like the other chain answers."""
    key = _cache_key(bundle)
    hit = cached("bundle verification", key)
    if hit is not None:
        result = Verification(**hit)
    else:
        result = _check(bundle)
        keep("bundle verification", key, asdict(result), timeout=settings.CREDENTIAL_CHAIN_CACHE_SECONDS)
    VERIFICATIONS.labels("bundle", result.outcome).inc()
    return result


def _check(bundle: dict) -> Verification:
    from credentials.onchain.reads import read_anchor

    credential, anchor = bundle["credential"], bundle["anchor"]
    fingerprint = _fingerprint_check(credential)
    try:
        vault = deployment_of(VAULT).address
        facts = read_anchor(
            vault=vault,
            credential_id=anchor.get("credential_id") if anchor["kind"] == "single" else None,
            root=anchor.get("root"),
            leaf=anchor.get("leaf"),
            tx_hash=anchor["tx_hash"],
            block_number=anchor["block_number"],
        )
    except NotDeployed:
        raise
    except Exception as exc:
        logger.warning("proof bundle chain read failed: %s", describe_error(exc))
        raise ChainUnavailable(PUBLIC_CHAIN_UNAVAILABLE) from exc

    result = Verification(
        exists=False,
        valid=False,
        revoked=False,
        expired=False,
        outcome="not_found",
        fingerprint=credential["fingerprint"].lower(),
        institution=Web3.to_checksum_address(credential["issuer"]),
        institution_name=None,
        institution_active=None,
        credential_id=None,
        onchain_id=anchor.get("credential_id") if anchor["kind"] == "single" else None,
        credential_type=credential["type"],
        subject_wallet=Web3.to_checksum_address(credential["subject"]),
        issued_at=None,
        revoked_at=None,
        expires_at=_time(credential["expires_at"]),
        tx_hash=anchor["tx_hash"],
        block_number=anchor["block_number"],
        source="chain",
    )
    checks = [fingerprint]
    if anchor["chain_id"] != facts.chain_id or not _same(anchor["contract"], vault):
        checks.append(
            check(
                "contract",
                False,
                f"The bundle points at {anchor['contract']} on chain {anchor['chain_id']}; this platform's "
                f"credential vault is {vault} on chain {facts.chain_id}.",
            )
        )
        moot = "Not checked: the bundle does not point at the vault this platform trusts."
        checks += [
            check(step, None, moot)
            for step in ("anchored", "transaction", "not_revoked", "not_expired", "issuer_active")
        ]
        return _concluded(result, checks)
    checks.append(check("contract", True, f"The credential vault {vault} on chain {facts.chain_id}."))
    anchored = _anchored_check(credential, anchor, facts)
    checks += [anchored, _transaction_check(credential, anchor, facts)]
    if not anchored["ok"]:
        moot = "Not checked: nothing of this credential is anchored."
        checks += [check(step, None, moot) for step in ("not_revoked", "not_expired", "issuer_active")]
        return _concluded(result, checks)

    if anchor["kind"] == "single":
        _e, revoked, _x, issued_at, revoked_at, _exp, _f, _i, _s = facts.credential
        result.issued_at, result.revoked_at = _time(issued_at), _time(revoked_at)
        result.revoked = bool(revoked)
    else:
        result.issued_at = _time(facts.batch[4])
        result.revoked = bool(facts.leaf_revoked)
    checks.append(
        check("not_revoked", False, "Revoked by the issuer.")
        if result.revoked
        else check("not_revoked", True, "Not revoked.")
    )
    expires_at = result.expires_at
    result.expired = expires_at is not None and expires_at <= facts.block_time
    checks.append(
        check("not_expired", True, "Does not expire.")
        if expires_at is None
        else check("not_expired", False, f"Expired on {when(expires_at)}.")
        if result.expired
        else check("not_expired", True, f"Valid until {when(expires_at)}.")
    )
    known, active, _kyc, name, _uri = facts.institution or (False, False, False, "", "")
    result.institution_name = name or None
    result.institution_active = bool(known and active)
    checks.append(
        check(
            "issuer_active",
            result.institution_active,
            issuer_detail(
                name=result.institution_name, address=result.institution, active=result.institution_active
            ),
        )
    )
    result.exists = True
    return _concluded(result, checks)


# The first failing step decides the outcome, in this order of precedence.
_OUTCOME_OF_STEP = (
    ("fingerprint", "fingerprint_mismatch"),
    ("contract", "not_found"),
    ("anchored", "not_found"),
    ("transaction", "not_found"),
    ("not_revoked", "revoked"),
    ("not_expired", "expired"),
    ("issuer_active", "issuer_inactive"),
)


def _concluded(result: Verification, checks: list[dict]) -> Verification:
    failed = {item["step"] for item in checks if item["ok"] is False}
    result.outcome = next((outcome for step, outcome in _OUTCOME_OF_STEP if step in failed), "valid")
    result.valid = result.outcome == "valid"
    result.checks = checks
    if result.outcome == "not_found":
        result.exists = False
    return result


BUNDLE_FORMAT_FAMILY = BUNDLE_FORMAT.rsplit(".", 1)[0] + "."  # "ledgerbridge.proof-bundle."


def looks_like_bundle(value: object) -> bool:
    """Whether pasted JSON is a proof bundle (of any version, complete or not) rather than a bare
    credential document: it names a proof-bundle format. A bundle this verifier cannot read must be
    refused as one, not hashed as a document (which would say "never issued")."""
    fmt = value.get("format") if isinstance(value, dict) else None
    return isinstance(fmt, str) and fmt.startswith(BUNDLE_FORMAT_FAMILY)
