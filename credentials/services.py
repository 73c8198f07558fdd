"""Credential writes: institutions, issuance (single and Merkle batch), revocation, links, and what
the chain said. Chain work is queued by the post_save signals (credentials/signals.py)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from eth_utils import keccak

from accounts.models import User
from blockchain.chain.addresses import InvalidAddress, normalize_address
from blockchain.chain.merkle import MerkleTree
from blockchain.outbox.declared import declare
from core import clock
from core.api import DomainError, NotAllowed, NotFound, StateConflict
from credentials.fingerprints import InvalidDocument, batch_leaf, fingerprint_of
from credentials.models import (
    BatchStatus,
    Credential,
    CredentialBatch,
    CredentialLink,
    CredentialStatus,
    Institution,
    LinkPurpose,
    SyncStatus,
)
from credentials.onchain.intents import (
    BATCH_KIND,
    ISSUE_KIND,
    REVOKE_KIND,
    REVOKE_LEAF_KIND,
    UPSERT_FIELDS,
    UPSERT_KIND,
)

logger = logging.getLogger(__name__)

MAX_BATCH = 1000


def _address(value: str, field: str) -> str:
    try:
        return normalize_address(value)
    except InvalidAddress as exc:
        raise DomainError(str(exc), code="invalid", errors={field: str(exc)}) from None


def upsert_institution(
    *, address: str, name: str, metadata_uri: str = "", kyc_provider: bool = False, active: bool = True
) -> Institution:
    """Create or change an institution; upsertInstitution goes on chain, and the row becomes what the
    InstitutionUpserted event says. Asking for what the row already holds, synced or on its way,
    sends nothing (saving an institution's members or re-posting it must not repeat an identical
    transaction); after a failed upsert, asking again is the retry."""
    address = _address(address, "address")
    if not name.strip():
        raise DomainError("An institution needs a name.", code="invalid", errors={"name": "required"})
    with transaction.atomic():
        institution = Institution.objects.select_for_update().filter(address=address).first() or Institution(
            address=address
        )
        wanted = {
            "name": name.strip(),
            "metadata_uri": metadata_uri,
            "kyc_provider": kyc_provider,
            "active": active,
        }
        unchanged = all(getattr(institution, field) == wanted[field] for field in UPSERT_FIELDS)
        on_its_way = institution.sync_status == SyncStatus.SYNCED or (
            institution.sync_status == SyncStatus.PENDING and institution.upsert_attempt > 0
        )
        if institution.pk is not None and unchanged and on_its_way:
            return institution
        for field, value in wanted.items():
            setattr(institution, field, value)
        institution.sync_status = SyncStatus.PENDING
        institution.upsert_attempt += 1
        institution.last_chain_error = ""
        declare(institution, UPSERT_KIND)
        institution.save()  # post_save enqueues the declared upsertInstitution
    return institution


def add_institution_member(*, institution: Institution, user: User) -> bool:
    """Make `user` a member of `institution` (members issue and revoke its credentials). Nothing
    goes on chain: membership is the platform's. Returns False when they already were one.
    An investor or an inactive account: 400 member_not_eligible."""
    from credentials.selectors import member_ineligibility

    reason = member_ineligibility(user)
    if reason is not None:
        raise DomainError(reason, code="member_not_eligible", errors={"user": reason}, role=user.role)
    with transaction.atomic():
        locked = Institution.objects.select_for_update().get(pk=institution.pk)  # one add at a time
        if locked.members.filter(pk=user.pk).exists():
            return False
        locked.members.add(user)
    return True


def remove_institution_member(*, institution: Institution, user: User) -> None:
    """End `user`'s membership (they can no longer issue or revoke for `institution`); 404
    not_a_member when they are not one."""
    with transaction.atomic():
        locked = Institution.objects.select_for_update().get(pk=institution.pk)
        if not locked.members.filter(pk=user.pk).exists():
            raise NotFound(f"{user.username} is not a member of {locked.name}.", code="not_a_member")
        locked.members.remove(user)


def _check_issuer(actor: User | None, institution: Institution) -> None:
    if (
        actor is not None
        and not actor.has_role("operator")
        and not institution.members.filter(pk=actor.pk).exists()
    ):
        raise NotAllowed("You may issue and revoke only for institutions you belong to.")
    if not institution.active:
        raise StateConflict(f"{institution.name} is inactive and cannot issue.", code="institution_inactive")


def _check_type(credential_type: str) -> str:
    if credential_type not in settings.CREDENTIAL_TYPES:
        raise DomainError(
            f"Unknown credential type {credential_type!r}; one of {', '.join(settings.CREDENTIAL_TYPES)}.",
            code="invalid",
            errors={"credential_type": "unknown type"},
        )
    return credential_type


def _check_expiry(expires_at: datetime | None) -> None:
    if expires_at is not None and expires_at <= clock.now():
        raise DomainError(
            "The expiry must be in the future.", code="invalid", errors={"expires_at": "in the past"}
        )


def _fingerprint(document: Any) -> str:
    try:
        return fingerprint_of(document)
    except InvalidDocument as exc:
        raise DomainError(str(exc), code="invalid", errors={"document": str(exc)}) from None


def _duplicate(fingerprints: list[str]) -> None:
    taken = list(
        Credential.objects.filter(fingerprint__in=fingerprints).values_list("fingerprint", flat=True)[:5]
    )
    if taken:
        raise StateConflict(
            "A credential with this document is already anchored.",
            code="duplicate_credential",
            fingerprints=taken,
        )


def _new_credential(**fields: Any) -> Credential:
    credential = Credential(**fields)
    credential.credential_ref = "0x" + keccak(text=f"ledgerbridge.credential.v1:{credential.public_id}").hex()
    return credential


def issue_credential(
    *,
    actor: User | None,
    institution: Institution,
    subject_wallet: str,
    credential_type: str,
    document: dict,
    expires_at: datetime | None = None,
) -> Credential:
    """Anchor one credential (issueCredential); the CredentialIssued event gives its on-chain id."""
    _check_issuer(actor, institution)
    credential = _new_credential(
        institution=institution,
        subject_wallet=_address(subject_wallet, "subject_wallet"),
        credential_type=_check_type(credential_type),
        document=document,
        fingerprint=_fingerprint(document),
        expires_at=expires_at,
        created_by=actor,
    )
    _check_expiry(expires_at)
    with transaction.atomic():
        _duplicate([credential.fingerprint])
        try:
            with transaction.atomic():
                declare(credential, ISSUE_KIND)
                credential.save()  # post_save enqueues the declared issueCredential
        except IntegrityError:
            raise StateConflict(
                "A credential with this document is already anchored.", code="duplicate_credential"
            ) from None
    return credential


def issue_batch(*, actor: User | None, institution: Institution, items: list[dict]) -> CredentialBatch:
    """Anchor up to 1,000 credentials with one anchorBatch(root, count, institution). Every credential
    stores its leaf and proof; BatchAnchored confirms them all."""
    _check_issuer(actor, institution)
    if not 1 <= len(items) <= MAX_BATCH:
        raise DomainError(
            f"A batch holds 1 to {MAX_BATCH} credentials.", code="invalid", errors={"credentials": "size"}
        )
    credentials = []
    for index, item in enumerate(items):
        try:
            _check_expiry(item.get("expires_at"))
            credential = _new_credential(
                institution=institution,
                subject_wallet=_address(item["subject_wallet"], "subject_wallet"),
                credential_type=_check_type(item["credential_type"]),
                document=item["document"],
                fingerprint=_fingerprint(item["document"]),
                expires_at=item.get("expires_at"),
                created_by=actor,
            )
        except DomainError as exc:
            raise DomainError(
                f"credentials[{index}]: {exc.message}",
                code=exc.code,
                errors={"credentials": {index: exc.extra.get("errors")}},
            ) from None
        credential.leaf = (
            "0x"
            + batch_leaf(
                fingerprint=credential.fingerprint,
                subject=credential.subject_wallet,
                credential_type=credential.credential_type,
                expires_at=credential.expires_at,
            ).hex()
        )
        credentials.append(credential)
    fingerprints = [c.fingerprint for c in credentials]
    if len(set(fingerprints)) != len(fingerprints):
        raise DomainError(
            "The batch holds the same document twice.", code="invalid", errors={"credentials": "duplicates"}
        )
    tree = MerkleTree.from_leaves([bytes.fromhex(c.leaf[2:]) for c in credentials])
    for credential in credentials:
        credential.proof = ["0x" + node.hex() for node in tree.proof(bytes.fromhex(credential.leaf[2:]))]
    with transaction.atomic():
        _duplicate(fingerprints)
        batch = CredentialBatch(
            institution=institution,
            merkle_root="0x" + tree.root.hex(),
            count=len(credentials),
            created_by=actor,
        )
        try:
            with transaction.atomic():
                declare(batch, BATCH_KIND)
                batch.save()  # post_save enqueues the declared anchorBatch
                for credential in credentials:
                    credential.batch = batch
                Credential.objects.bulk_create(credentials, batch_size=500)
        except IntegrityError:
            raise StateConflict(
                "A credential of this batch is already anchored.", code="duplicate_credential"
            ) from None
    return batch


def revoke_credential(*, actor: User | None, credential: Credential, reason: str) -> Credential:
    """Revoke an issued credential (revokeCredential, or revokeBatchLeaf for a batched one).
    Asking again while a revocation is in flight changes nothing."""
    if not reason.strip():
        raise DomainError("A revocation needs a reason.", code="invalid", errors={"reason": "required"})
    with transaction.atomic():
        locked = Credential.objects.select_for_update().select_related("institution").get(pk=credential.pk)
        if (
            actor is not None
            and not actor.has_role("operator")
            and not locked.institution.members.filter(pk=actor.pk).exists()
        ):
            raise NotAllowed("You may revoke only your institution's credentials.")
        if locked.revocation_requested_at and locked.status == CredentialStatus.ISSUED:
            return locked
        if locked.status != CredentialStatus.ISSUED:
            raise StateConflict(
                f"The credential is {locked.status}; only an issued one can be revoked.",
                code="invalid_transition",
                status=locked.status,
            )
        locked.revocation_reason = reason.strip()
        locked.revocation_requested_at = clock.now()
        locked.revoke_attempt += 1
        locked.last_chain_error = ""
        declare(locked, REVOKE_LEAF_KIND if locked.batch_id else REVOKE_KIND)
        locked.save()  # post_save enqueues the declared revocation (of the credential or its leaf)
    return locked


# --- links ----------------------------------------------------------------------------------------

LINK_PURPOSES = {"kyc": LinkPurpose.KYC, "accreditation": LinkPurpose.ACCREDITATION, "kyb": LinkPurpose.KYB}


def link_credential(credential: Credential) -> int:
    """Tie an issued credential to the users (kyc, accreditation) or companies (kyb) whose wallet it
    names: a user's bound (signed-for) wallet, a company's proven one. Idempotent; returns links created."""
    from issuers.models import Company

    purpose = LINK_PURPOSES.get(credential.credential_type)
    if purpose is None:
        return 0
    created = 0
    if purpose == LinkPurpose.KYB:
        # A company registered before wallet proofs existed may hold a wallet it never proved.
        proven = Company.objects.filter(
            wallet_address=credential.subject_wallet, wallet_proven_at__isnull=False
        )
        for company in proven:
            created += CredentialLink.objects.get_or_create(
                credential=credential, company=company, purpose=purpose
            )[1]
    else:
        for user in User.objects.filter(wallet_address=credential.subject_wallet, wallet_verified=True):
            created += CredentialLink.objects.get_or_create(
                credential=credential, user=user, purpose=purpose
            )[1]
    return created


def link_credentials_of_wallet(*, user: User | None = None, company=None) -> int:
    """When a wallet becomes a user's (or a company is registered): link its issued credentials."""
    wallet = user.wallet_address if user is not None else company.wallet_address
    created = 0
    for credential in Credential.objects.filter(subject_wallet=wallet, status=CredentialStatus.ISSUED):
        created += link_credential(credential)
    return created


# --- what the chain said --------------------------------------------------------------------------


def institution_sync_failed(*, institution_id: int, error_code: str) -> None:
    Institution.objects.filter(pk=institution_id, sync_status=SyncStatus.PENDING).update(
        sync_status=SyncStatus.FAILED, last_chain_error=f"upsertInstitution failed: {error_code}"[:300]
    )


def issuance_failed(*, credential_id: int, error_code: str) -> None:
    Credential.objects.filter(pk=credential_id, status=CredentialStatus.PENDING).update(
        status=CredentialStatus.FAILED, last_chain_error=f"issueCredential failed: {error_code}"[:300]
    )


def batch_failed(*, batch_id: int, error_code: str) -> None:
    error = f"anchorBatch failed: {error_code}"[:300]
    if CredentialBatch.objects.filter(pk=batch_id, status=BatchStatus.PENDING).update(
        status=BatchStatus.FAILED, last_chain_error=error
    ):
        Credential.objects.filter(batch_id=batch_id, status=CredentialStatus.PENDING).update(
            status=CredentialStatus.FAILED, last_chain_error=error
        )


def revocation_failed(*, credential_id: int, error_code: str) -> None:
    """The revocation failed for good: forget the request so it can be made again."""
    Credential.objects.filter(pk=credential_id, status=CredentialStatus.ISSUED).update(
        revocation_requested_at=None, last_chain_error=f"revocation failed: {error_code}"[:300]
    )
