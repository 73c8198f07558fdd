"""Institutions, the credentials they anchor (singly or in Merkle batches), and what they qualify."""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.db import models

from blockchain.models import ChainTransaction
from core import clock

ADDRESS_PATTERN = r"^0x[0-9a-fA-F]{40}$"
HASH_PATTERN = r"^0x[0-9a-f]{64}$"
SHARE_ID_PATTERN = r"^[A-Za-z0-9_-]{22}$"


def new_share_id() -> str:
    """128 random bits, URL-safe base64 (22 characters): a credential's public handle, which its
    holders pass on so that anyone can check its status without a guessable id. Never all digits,
    so the status path cannot mistake one for a numeric id."""
    while True:
        share_id = secrets.token_urlsafe(16)
        if not share_id.isdigit():
            return share_id


class SyncStatus(models.TextChoices):
    PENDING = "pending"  # upsertInstitution is in the outbox or on its way
    SYNCED = "synced"  # the row is what InstitutionUpserted last said
    FAILED = "failed"


# Members issue and revoke an institution's credentials: never an investor (a subject of
# credentials). Enforced by the member services and by a database trigger (migration 0005).
INELIGIBLE_MEMBER_ROLES = frozenset({"investor"})


class Institution(models.Model):
    """An institution that issues credentials. The row is the cache of `InstitutionUpserted`."""

    address = models.CharField(max_length=42, unique=True, help_text="EIP-55")
    name = models.CharField(max_length=200)
    metadata_uri = models.CharField(max_length=500, blank=True, default="")
    kyc_provider = models.BooleanField(default=False, help_text="its kyc/kyb credentials qualify users")
    active = models.BooleanField(default=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="institutions")
    sync_status = models.CharField(max_length=16, choices=SyncStatus.choices, default=SyncStatus.PENDING)
    upsert_attempt = models.PositiveSmallIntegerField(default=0)
    last_chain_error = models.CharField(max_length=300, blank=True, default="")
    synced_tx_hash = models.CharField(max_length=66, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    chain_transactions = GenericRelation(ChainTransaction, related_query_name="institution")

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(address__regex=ADDRESS_PATTERN), name="institution_address_format"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.address})"


class CredentialStatus(models.TextChoices):
    PENDING = "pending"  # its anchoring is in the outbox or on its way
    ISSUED = "issued"  # anchored and confirmed
    REVOKED = "revoked"
    FAILED = "failed"  # anchoring failed (see last_chain_error)


class BatchStatus(models.TextChoices):
    PENDING = "pending"
    ANCHORED = "anchored"
    FAILED = "failed"


class CredentialBatch(models.Model):
    """Up to 1,000 credentials anchored by one Merkle root (OpenZeppelin StandardMerkleTree leaves)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="batches")
    merkle_root = models.CharField(max_length=66, unique=True)
    count = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=BatchStatus.choices, default=BatchStatus.PENDING)
    onchain_batch_id = models.PositiveBigIntegerField(null=True, blank=True)
    anchored_tx_hash = models.CharField(max_length=66, blank=True, default="")
    anchored_at = models.DateTimeField(null=True, blank=True)
    anchor_attempt = models.PositiveSmallIntegerField(default=1)
    last_chain_error = models.CharField(max_length=300, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    chain_transactions = GenericRelation(ChainTransaction, related_query_name="credential_batch")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "credential batches"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(merkle_root__regex=HASH_PATTERN), name="batch_root_format"
            ),
            models.CheckConstraint(
                condition=models.Q(count__gte=1, count__lte=1000), name="batch_size_range"
            ),
        ]

    def __str__(self) -> str:
        return f"batch {self.merkle_root[:10]}… ({self.count}, {self.status})"


class Credential(models.Model):
    """A credential whose fingerprint is anchored on chain, singly (an on-chain id) or as a leaf of a
    batch (root + proof). `document` is empty for credentials the platform only saw on chain."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    share_id = models.CharField(
        max_length=22,
        unique=True,
        default=new_share_id,
        editable=False,
        help_text="unguessable public handle for verification (the numeric ids are not public)",
    )
    credential_ref = models.CharField(max_length=66, unique=True, help_text="bytes32 on chain")
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="credentials")
    subject_wallet = models.CharField(max_length=42, db_index=True)
    credential_type = models.CharField(
        max_length=32, blank=True, default="", help_text="empty: not one we know"
    )
    document = models.JSONField(null=True, blank=True)
    fingerprint = models.CharField(max_length=66, unique=True)
    onchain_id = models.PositiveBigIntegerField(null=True, blank=True, unique=True)
    batch = models.ForeignKey(
        CredentialBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="credentials"
    )
    leaf = models.CharField(max_length=66, blank=True, default="")
    proof = models.JSONField(default=list, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=CredentialStatus.choices, default=CredentialStatus.PENDING, db_index=True
    )
    issued_at = models.DateTimeField(null=True, blank=True, help_text="when its anchoring was confirmed")
    issued_tx_hash = models.CharField(max_length=66, blank=True, default="")
    issue_attempt = models.PositiveSmallIntegerField(default=1)
    revocation_reason = models.TextField(blank=True, default="")
    revocation_requested_at = models.DateTimeField(null=True, blank=True)
    revoke_attempt = models.PositiveSmallIntegerField(default=0)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_tx_hash = models.CharField(max_length=66, blank=True, default="")
    last_chain_error = models.CharField(max_length=300, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    chain_transactions = GenericRelation(ChainTransaction, related_query_name="credential")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["institution", "status"], name="credential_institution_idx"),
            models.Index(fields=["credential_type", "subject_wallet"], name="credential_type_subject_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(fingerprint__regex=HASH_PATTERN), name="credential_fingerprint_format"
            ),
            models.CheckConstraint(
                condition=models.Q(subject_wallet__regex=ADDRESS_PATTERN), name="credential_subject_format"
            ),
            models.CheckConstraint(
                condition=models.Q(batch__isnull=True) | models.Q(leaf__regex=HASH_PATTERN),
                name="batched_credential_has_leaf",
            ),
            models.CheckConstraint(
                condition=~models.Q(status=CredentialStatus.REVOKED) | models.Q(revoked_at__isnull=False),
                name="revoked_credential_has_time",
            ),
            models.CheckConstraint(
                condition=models.Q(share_id__regex=SHARE_ID_PATTERN), name="credential_share_id_format"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.credential_type or 'credential'} {self.fingerprint[:10]}… ({self.status})"

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= clock.now()

    @property
    def valid(self) -> bool:
        return (
            self.status == CredentialStatus.ISSUED
            and not self.expired
            and self.revocation_requested_at is None
            and self.institution.active
        )


class LinkPurpose(models.TextChoices):
    KYC = "kyc"
    KYB = "kyb"
    ACCREDITATION = "accreditation"


class CredentialLink(models.Model):
    """A credential that qualifies a user (KYC, accreditation) or a company (KYB)."""

    credential = models.ForeignKey(Credential, on_delete=models.CASCADE, related_name="links")
    purpose = models.CharField(max_length=16, choices=LinkPurpose.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="credential_links",
    )
    company = models.ForeignKey(
        "issuers.Company", null=True, blank=True, on_delete=models.CASCADE, related_name="credential_links"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(user__isnull=False) & models.Q(company__isnull=True))
                | (models.Q(user__isnull=True) & models.Q(company__isnull=False)),
                name="link_has_one_holder",
            ),
            models.UniqueConstraint(fields=["credential", "user"], name="link_unique_per_user"),
            models.UniqueConstraint(fields=["credential", "company"], name="link_unique_per_company"),
        ]

    def __str__(self) -> str:
        return f"{self.purpose}: {self.credential_id} → {self.user_id or self.company_id}"
