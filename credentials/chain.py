"""Credentials on chain: CredentialVault intents, reads, event handlers, reconciliation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from web3 import Web3

from blockchain.chain.abi import bytes32_from_hex
from blockchain.chain.bindings import call_many, deployment_of
from blockchain.indexing.registry import (
    Drift,
    ReconcileResult,
    register_reconciler,
)
from blockchain.models import ChainTransaction
from blockchain.outbox import enqueue as outbox
from blockchain.outbox.enqueue import intent_key
from blockchain.outbox.hooks import on_failure
from credentials.fingerprints import expiry_seconds, type_hash

ARTIFACT = "CredentialVault"
UPSERT_KIND = "credentials.upsert_institution"
ISSUE_KIND = "credentials.issue"
BATCH_KIND = "credentials.anchor_batch"
REVOKE_KIND = "credentials.revoke"
REVOKE_LEAF_KIND = "credentials.revoke_leaf"


def enqueue_upsert_institution(institution) -> ChainTransaction:
    return outbox.enqueue(
        kind=UPSERT_KIND,
        contract=ARTIFACT,
        function="upsertInstitution",
        args=[
            institution.address,
            institution.name,
            institution.metadata_uri,
            institution.kyc_provider,
            institution.active,
        ],
        idempotency_key=intent_key(UPSERT_KIND, institution, institution.upsert_attempt),
        subject=institution,
    )


def enqueue_issue(credential) -> ChainTransaction:
    request = (
        credential.institution.address,
        credential.subject_wallet,
        type_hash(credential.credential_type),
        bytes32_from_hex(credential.fingerprint),
        bytes32_from_hex(credential.credential_ref),
        expiry_seconds(credential.expires_at),
    )
    return outbox.enqueue(
        kind=ISSUE_KIND,
        contract=ARTIFACT,
        function="issueCredential",
        args=[request],
        idempotency_key=intent_key(ISSUE_KIND, credential, credential.issue_attempt),
        subject=credential,
    )


def enqueue_anchor_batch(batch) -> ChainTransaction:
    return outbox.enqueue(
        kind=BATCH_KIND,
        contract=ARTIFACT,
        function="anchorBatch",
        args=[bytes32_from_hex(batch.merkle_root), batch.count, batch.institution.address],
        idempotency_key=intent_key(BATCH_KIND, batch, batch.anchor_attempt),
        subject=batch,
    )


def enqueue_revocation(credential) -> ChainTransaction:
    from credentials.services import reason_hash

    if credential.batch_id:
        return outbox.enqueue(
            kind=REVOKE_LEAF_KIND,
            contract=ARTIFACT,
            function="revokeBatchLeaf",
            args=[
                bytes32_from_hex(credential.batch.merkle_root),
                bytes32_from_hex(credential.leaf),
                reason_hash(credential.revocation_reason),
            ],
            idempotency_key=intent_key(REVOKE_LEAF_KIND, credential, credential.revoke_attempt),
            subject=credential,
        )
    return outbox.enqueue(
        kind=REVOKE_KIND,
        contract=ARTIFACT,
        function="revokeCredential",
        args=[credential.onchain_id, reason_hash(credential.revocation_reason)],
        idempotency_key=intent_key(REVOKE_KIND, credential, credential.revoke_attempt),
        subject=credential,
    )


# --- reads ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OnchainCredential:
    onchain_id: int
    exists: bool
    revoked: bool
    expired: bool
    issued_at: datetime | None
    revoked_at: datetime | None
    expires_at: datetime | None
    fingerprint: str | None
    institution: str | None
    subject: str | None
    institution_active: bool


def _time(seconds: int) -> datetime | None:
    return datetime.fromtimestamp(seconds, tz=UTC) if seconds else None


def read_credential(
    *, onchain_id: int | None = None, fingerprint: str | None = None, w3: Web3 | None = None
) -> OnchainCredential:
    """A single credential's on-chain state, by id or by fingerprint (not found: exists=False)."""
    vault = deployment_of(ARTIFACT).address
    if onchain_id is None:
        (onchain_id,), block = call_many(
            [(ARTIFACT, vault, "credentialIdOfFingerprint", [bytes32_from_hex(fingerprint)])], w3=w3
        )
    else:
        block = None
    if not onchain_id:
        return OnchainCredential(0, False, False, False, None, None, None, None, None, None, False)
    (status,), block = call_many([(ARTIFACT, vault, "credentialStatus", [onchain_id])], w3=w3, block=block)
    exists, revoked, expired, issued_at, revoked_at, expires_at, chain_fingerprint, institution, subject = (
        status
    )
    active = False
    if exists:
        (record,), _ = call_many([(ARTIFACT, vault, "institutionOf", [institution])], w3=w3, block=block)
        active = bool(record[1])
    return OnchainCredential(
        onchain_id=int(onchain_id),
        exists=bool(exists),
        revoked=bool(revoked),
        expired=bool(expired),
        issued_at=_time(issued_at),
        revoked_at=_time(revoked_at),
        expires_at=_time(expires_at),
        fingerprint="0x" + bytes(chain_fingerprint).hex() if exists else None,
        institution=Web3.to_checksum_address(institution) if exists else None,
        subject=Web3.to_checksum_address(subject) if exists else None,
        institution_active=active,
    )


def read_batch_credential(credential, *, w3: Web3 | None = None) -> tuple[bool, bool, bool, bool]:
    """(anchored, valid, revoked, expired) of a batched credential, from verifyBatchCredential."""
    vault = deployment_of(ARTIFACT).address
    root = bytes32_from_hex(credential.batch.merkle_root)
    values, _ = call_many(
        [
            (ARTIFACT, vault, "batchOf", [root]),
            (
                ARTIFACT,
                vault,
                "verifyBatchCredential",
                [
                    root,
                    bytes32_from_hex(credential.fingerprint),
                    credential.subject_wallet,
                    type_hash(credential.credential_type),
                    expiry_seconds(credential.expires_at),
                    [bytes32_from_hex(p) for p in credential.proof],
                ],
            ),
        ],
        w3=w3,
    )
    batch, (valid, revoked, expired) = values
    return bool(batch[0]), bool(valid), bool(revoked), bool(expired)


# --- events ---------------------------------------------------------------------------------------


# --- failures -------------------------------------------------------------------------------------


@on_failure(UPSERT_KIND)
def upsert_failed(tx: ChainTransaction) -> None:
    from credentials import services

    services.institution_sync_failed(institution_id=tx.object_id, error_code=tx.error_code or "failed")


@on_failure(ISSUE_KIND)
def issue_failed(tx: ChainTransaction) -> None:
    from credentials import services

    services.issuance_failed(credential_id=tx.object_id, error_code=tx.error_code or "failed")


@on_failure(BATCH_KIND)
def anchor_batch_failed(tx: ChainTransaction) -> None:
    from credentials import services

    services.batch_failed(batch_id=tx.object_id, error_code=tx.error_code or "failed")


@on_failure(REVOKE_KIND)
@on_failure(REVOKE_LEAF_KIND)
def revoke_failed(tx: ChainTransaction) -> None:
    from credentials import services

    services.revocation_failed(credential_id=tx.object_id, error_code=tx.error_code or "failed")


# --- reconcile -------------------------------------------------------------------------


def reconcile_credentials(w3: Web3) -> ReconcileResult:
    """Every singly anchored credential's revocation state against credentialStatus."""
    from credentials.models import Credential, CredentialStatus

    rows = list(
        Credential.objects.filter(
            onchain_id__isnull=False, status__in=[CredentialStatus.ISSUED, CredentialStatus.REVOKED]
        ).values_list("onchain_id", "status", "fingerprint")
    )
    result = ReconcileResult(checked=len(rows))
    if not rows:
        return result
    vault = deployment_of(ARTIFACT).address
    values, _ = call_many([(ARTIFACT, vault, "credentialStatus", [r[0]]) for r in rows], w3=w3)
    for (onchain_id, status, fingerprint), value in zip(rows, values, strict=True):
        exists, revoked, *_rest = value
        chain_fingerprint = "0x" + bytes(value[6]).hex()
        if (
            not exists
            or chain_fingerprint != fingerprint
            or (status == CredentialStatus.REVOKED) != bool(revoked)
        ):
            result.drift.append(
                Drift(
                    "credentials", str(onchain_id), cache=status, chain={"exists": exists, "revoked": revoked}
                )
            )
    return result


register_reconciler("credentials", reconcile_credentials)
