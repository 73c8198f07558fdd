"""What the credentials app asks of the CredentialVault: its intents (the call, the idempotency key)
and their failure hooks."""

from __future__ import annotations

from blockchain.chain.abi import bytes32_from_hex
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
