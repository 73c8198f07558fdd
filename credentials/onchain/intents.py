"""What the credentials app asks of the CredentialVault: one declaration per intent (the call, its
attempt, its failure hook)."""

from __future__ import annotations

from blockchain.chain.abi import bytes32_from_hex
from blockchain.models import ChainTransaction
from blockchain.outbox.declared import ChainIntent, register_intents
from credentials.fingerprints import expiry_seconds, reason_hash, type_hash

ARTIFACT = "CredentialVault"
UPSERT_KIND = "credentials.upsert_institution"
ISSUE_KIND = "credentials.issue"
BATCH_KIND = "credentials.anchor_batch"
REVOKE_KIND = "credentials.revoke"
REVOKE_LEAF_KIND = "credentials.revoke_leaf"


def upsert_failed(tx: ChainTransaction) -> None:
    from credentials import services

    services.institution_sync_failed(institution_id=tx.object_id, error_code=tx.error_code or "failed")


def issue_failed(tx: ChainTransaction) -> None:
    from credentials import services

    services.issuance_failed(credential_id=tx.object_id, error_code=tx.error_code or "failed")


def anchor_batch_failed(tx: ChainTransaction) -> None:
    from credentials import services

    services.batch_failed(batch_id=tx.object_id, error_code=tx.error_code or "failed")


def revoke_failed(tx: ChainTransaction) -> None:
    from credentials import services

    services.revocation_failed(credential_id=tx.object_id, error_code=tx.error_code or "failed")


# The institution's columns upsertInstitution carries after its address (the key): a save that
# changes none of them has nothing to tell the chain.
UPSERT_FIELDS = ("name", "metadata_uri", "kyc_provider", "active")

UPSERT_INSTITUTION = ChainIntent(
    kind=UPSERT_KIND,
    contract=ARTIFACT,
    function="upsertInstitution",
    args=lambda institution: [
        institution.address,
        *(getattr(institution, field) for field in UPSERT_FIELDS),
    ],
    attempt=lambda institution: institution.upsert_attempt,
    on_failure=upsert_failed,
)

ISSUE = ChainIntent(
    kind=ISSUE_KIND,
    contract=ARTIFACT,
    function="issueCredential",  # issueCredential((institution, subject, type, fingerprint, ref, expiry))
    args=lambda credential: [
        (
            credential.institution.address,
            credential.subject_wallet,
            type_hash(credential.credential_type),
            bytes32_from_hex(credential.fingerprint),
            bytes32_from_hex(credential.credential_ref),
            expiry_seconds(credential.expires_at),
        )
    ],
    attempt=lambda credential: credential.issue_attempt,
    on_failure=issue_failed,
    ordering=lambda credential: credential.institution,  # behind the institution's upsert
)

ANCHOR_BATCH = ChainIntent(
    kind=BATCH_KIND,
    contract=ARTIFACT,
    function="anchorBatch",
    args=lambda batch: [bytes32_from_hex(batch.merkle_root), batch.count, batch.institution.address],
    attempt=lambda batch: batch.anchor_attempt,
    on_failure=anchor_batch_failed,
    ordering=lambda batch: batch.institution,
)

REVOKE = ChainIntent(
    kind=REVOKE_KIND,
    contract=ARTIFACT,
    function="revokeCredential",
    args=lambda credential: [credential.onchain_id, reason_hash(credential.revocation_reason)],
    attempt=lambda credential: credential.revoke_attempt,
    on_failure=revoke_failed,
    ordering=lambda credential: credential.institution,
)

REVOKE_LEAF = ChainIntent(
    kind=REVOKE_LEAF_KIND,
    contract=ARTIFACT,
    function="revokeBatchLeaf",  # a credential anchored in a Merkle batch is revoked by its leaf
    args=lambda credential: [
        bytes32_from_hex(credential.batch.merkle_root),
        bytes32_from_hex(credential.leaf),
        reason_hash(credential.revocation_reason),
    ],
    attempt=lambda credential: credential.revoke_attempt,
    on_failure=revoke_failed,
    ordering=lambda credential: credential.institution,
)

INTENTS = register_intents(UPSERT_INSTITUTION, ISSUE, ANCHOR_BATCH, REVOKE, REVOKE_LEAF)
