"""Issuer companies (KYB and their on-chain registration) and compliance decisions."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey, GenericRelation
from django.db import models
from django.db.models.functions import Upper

from blockchain.models import ChainTransaction
from core import clock

ADDRESS_PATTERN = r"^0x[0-9a-fA-F]{40}$"
HASH_PATTERN = r"^0x[0-9a-f]{64}$"
# IPFS CIDs: v0 (base58btc "Qm…") or v1 in base32 ("b…"), the two forms gateways hand out.
CID_PATTERN = r"^(Qm[1-9A-HJ-NP-Za-km-z]{44}|b[a-z2-7]{50,120})$"


class KybStatus(models.TextChoices):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class RegistrationStatus(models.TextChoices):
    NOT_REQUESTED = "not_requested"
    REGISTERING = "registering"  # registerIssuer is in the outbox or on its way
    REGISTERED = "registered"
    FAILED = "failed"  # the last registerIssuer failed (see last_chain_error)
    REVOKED = "revoked"  # IssuerRevoked seen on chain


class Company(models.Model):
    """An issuer company. Compliance approves its KYB; approval registers its wallet on chain."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="companies")
    legal_name = models.CharField(max_length=200)
    registration_number = models.CharField(max_length=64)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2")
    wallet_address = models.CharField(max_length=42, unique=True, help_text="EIP-55; registered on chain")
    wallet_proven_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="when the owner proved the wallet (EIP-4361 signature); empty for rows made before proofs",
    )
    document_cid = models.CharField(max_length=128, help_text="IPFS CID of the KYB document bundle")

    kyb_status = models.CharField(max_length=16, choices=KybStatus.choices, default=KybStatus.PENDING)
    kyb_credential_fingerprint = models.CharField(
        max_length=66, blank=True, default="", help_text="the vcHash registered on chain"
    )
    kyb_credential_id = models.CharField(
        max_length=100, blank=True, default="", help_text="the KYB credential it came from, if any"
    )
    rejection_reason = models.TextField(blank=True, default="")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    registration_status = models.CharField(
        max_length=16, choices=RegistrationStatus.choices, default=RegistrationStatus.NOT_REQUESTED
    )
    register_attempt = models.PositiveSmallIntegerField(default=0)
    last_chain_error = models.CharField(max_length=300, blank=True, default="")
    registered_tx_hash = models.CharField(max_length=66, blank=True, default="")
    registered_block = models.PositiveBigIntegerField(null=True, blank=True)
    registered_at = models.DateTimeField(null=True, blank=True, help_text="when IssuerRegistered was applied")

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    chain_transactions = GenericRelation(ChainTransaction, related_query_name="company")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "companies"
        constraints = [
            models.UniqueConstraint(
                Upper("registration_number"), "country", name="company_registration_unique_per_country"
            ),
            models.CheckConstraint(
                condition=models.Q(wallet_address__regex=ADDRESS_PATTERN), name="company_wallet_format"
            ),
            models.CheckConstraint(
                condition=models.Q(country__regex=r"^[A-Z]{2}$"), name="company_country_format"
            ),
            models.CheckConstraint(
                condition=models.Q(document_cid__regex=CID_PATTERN), name="company_document_cid_format"
            ),
            models.CheckConstraint(
                condition=models.Q(kyb_credential_fingerprint="")
                | models.Q(kyb_credential_fingerprint__regex=HASH_PATTERN),
                name="company_kyb_fingerprint_format",
            ),
            models.CheckConstraint(
                condition=models.Q(registration_status=RegistrationStatus.NOT_REQUESTED)
                | models.Q(kyb_status=KybStatus.APPROVED),
                name="only_approved_companies_register",
            ),
        ]
        indexes = [models.Index(fields=["kyb_status", "created_at"], name="company_review_queue_idx")]

    def __str__(self) -> str:
        return f"{self.legal_name} ({self.country} {self.registration_number})"

    @property
    def registered(self) -> bool:
        return self.registration_status == RegistrationStatus.REGISTERED


class ReviewDecision(models.TextChoices):
    APPROVE = "approve"
    REJECT = "reject"
    REQUEST_CHANGES = "request_changes"
    RELEASE = "release"  # an investment held for review


# Decisions in the applicant's favour; every other decision must give its reason.
DECISIONS_WITHOUT_REASON = frozenset({ReviewDecision.APPROVE, ReviewDecision.RELEASE})


class ComplianceReview(models.Model):
    """One compliance decision on a company, campaign or investment. Append-only: the database
    refuses UPDATE and DELETE on this table (migration 0002)."""

    content_type = models.ForeignKey("contenttypes.ContentType", on_delete=models.PROTECT)
    object_id = models.PositiveBigIntegerField()
    subject = GenericForeignKey("content_type", "object_id")
    officer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=16, choices=ReviewDecision.choices)
    notes = models.TextField(blank=True, default="")
    from_status = models.CharField(max_length=32)
    to_status = models.CharField(max_length=32)
    # When the decision was taken, on the platform's clock (core.clock) like the subject's own times.
    created_at = models.DateTimeField(default=clock.now, editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["content_type", "object_id"], name="review_subject_idx")]

    def __str__(self) -> str:
        return f"{self.decision} by {self.officer_id} at {self.created_at:%Y-%m-%d %H:%M}"
