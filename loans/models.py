"""Loans whose canonical hash is anchored on chain, their history, and integrity audit reports."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.db import models

from blockchain.models import ChainTransaction
from core import clock

LOAN_ID_PATTERN = r"^[A-Za-z0-9-]{1,100}$"
HASH_PATTERN = r"^0x[0-9a-f]{64}$"
ADDRESS_PATTERN = r"^0x[0-9a-fA-F]{40}$"
MAX_INTEREST_RATE_BPS = 100_000  # 1,000 % a year: anything above is a typo
MAX_TERM_MONTHS = 600

# The loan terms covered by the hash (loans/hashing.py): frozen once the loan is approved.
HASHED_FIELDS = (
    "loan_id",
    "borrower_wallet",
    "lender_wallet",
    "principal",
    "currency",
    "interest_rate_bps",
    "term_months",
)


class LoanStatus(models.TextChoices):
    DRAFT = "draft"
    APPROVED = "approved"  # approved; not anchored (never requested, or the last attempt failed)
    ANCHORING = "anchoring"  # storeLoan is in the outbox or on its way
    ANCHORED = "anchored"
    REPAID = "repaid"
    DEFAULTED = "defaulted"


# The loan's hash is on chain (the DB believes so; verification checks it).
ANCHORED_STATUSES = (LoanStatus.ANCHORED, LoanStatus.REPAID, LoanStatus.DEFAULTED)


class Loan(models.Model):
    """A loan record. Approval fixes its canonical hash, which the outbox anchors on chain.

    `loan_hash` and `repaid_hash` are what the platform asked the chain to store; the `chain_*`
    fields are what the chain's events said (a cache the indexer and `reconcile` keep honest).
    """

    loan_id = models.CharField(max_length=100, unique=True)
    borrower_wallet = models.CharField(max_length=42, help_text="EIP-55")
    lender_wallet = models.CharField(max_length=42, help_text="EIP-55")
    principal = models.DecimalField(max_digits=24, decimal_places=6)
    currency = models.CharField(max_length=3, help_text="ISO 4217")
    interest_rate_bps = models.PositiveIntegerField(help_text="yearly rate in basis points")
    term_months = models.PositiveSmallIntegerField()
    start_date = models.DateField(null=True, blank=True, help_text="informational; not hashed")
    notes = models.TextField(blank=True, default="", help_text="internal; not hashed")

    status = models.CharField(max_length=16, choices=LoanStatus.choices, default=LoanStatus.DRAFT)
    loan_hash = models.CharField(max_length=66, blank=True, default="", help_text="set at approval")
    repaid_at = models.DateTimeField(null=True, blank=True, help_text="repayment date (hashed)")
    repaid_hash = models.CharField(max_length=66, blank=True, default="")
    store_attempt = models.PositiveSmallIntegerField(default=0, help_text="storeLoan intents requested")
    repay_attempt = models.PositiveSmallIntegerField(default=0, help_text="markRepaid intents requested")
    last_chain_error = models.CharField(max_length=300, blank=True, default="")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    defaulted_at = models.DateTimeField(null=True, blank=True)

    # From the chain's events.
    chain_loan_hash = models.CharField(max_length=66, blank=True, default="")
    anchored_tx_hash = models.CharField(max_length=66, blank=True, default="")
    anchored_block = models.PositiveBigIntegerField(null=True, blank=True)
    anchored_at = models.DateTimeField(null=True, blank=True, help_text="when LoanStored was applied")
    chain_repaid_hash = models.CharField(max_length=66, blank=True, default="")
    repaid_tx_hash = models.CharField(max_length=66, blank=True, default="")
    repaid_block = models.PositiveBigIntegerField(null=True, blank=True)
    repaid_confirmed_at = models.DateTimeField(null=True, blank=True, help_text="when LoanRepaid was applied")

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    chain_transactions = GenericRelation(ChainTransaction, related_query_name="loan")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="loan_status_idx"),
            models.Index(fields=["borrower_wallet"], name="loan_borrower_idx"),
            models.Index(fields=["lender_wallet"], name="loan_lender_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(loan_id__regex=LOAN_ID_PATTERN), name="loan_id_format"),
            models.CheckConstraint(
                condition=models.Q(borrower_wallet__regex=ADDRESS_PATTERN)
                & models.Q(lender_wallet__regex=ADDRESS_PATTERN),
                name="loan_wallet_format",
            ),
            models.CheckConstraint(
                condition=~models.Q(borrower_wallet__iexact=models.F("lender_wallet")),
                name="loan_borrower_is_not_lender",
            ),
            models.CheckConstraint(condition=models.Q(principal__gt=0), name="loan_principal_positive"),
            models.CheckConstraint(
                condition=models.Q(currency__regex=r"^[A-Z]{3}$"), name="loan_currency_format"
            ),
            models.CheckConstraint(
                condition=models.Q(interest_rate_bps__lte=MAX_INTEREST_RATE_BPS), name="loan_rate_range"
            ),
            models.CheckConstraint(
                condition=models.Q(term_months__gte=1, term_months__lte=MAX_TERM_MONTHS),
                name="loan_term_range",
            ),
            models.CheckConstraint(
                condition=models.Q(status=LoanStatus.DRAFT)
                | (models.Q(loan_hash__regex=HASH_PATTERN) & models.Q(approved_at__isnull=False)),
                name="approved_loan_has_hash",
            ),
            models.CheckConstraint(
                condition=~models.Q(status=LoanStatus.REPAID)
                | (models.Q(repaid_hash__regex=HASH_PATTERN) & models.Q(repaid_at__isnull=False)),
                name="repaid_loan_has_repayment_hash",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.loan_id} ({self.status})"

    def hashed_terms(self) -> dict:
        return {name: getattr(self, name) for name in HASHED_FIELDS}

    @property
    def anchored(self) -> bool:
        return self.status in ANCHORED_STATUSES

    @property
    def repaid(self) -> bool:
        return self.status == LoanStatus.REPAID


class LoanAction(models.TextChoices):
    CREATED = "created"
    UPDATED = "updated"
    APPROVED = "approved"
    ANCHORING_REQUESTED = "anchoring_requested"
    ANCHORED = "anchored"
    ANCHORING_FAILED = "anchoring_failed"
    ANCHOR_MISMATCH = "anchor_mismatch"
    ANCHOR_REORGED = "anchor_reorged"
    REPAYMENT_REQUESTED = "repayment_requested"
    REPAID = "repaid"
    REPAYMENT_FAILED = "repayment_failed"
    REPAYMENT_MISMATCH = "repayment_mismatch"
    REPAYMENT_REORGED = "repayment_reorged"
    DEFAULTED = "defaulted"


class LoanHistoryEntry(models.Model):
    """The loan's audit trail: every change, who made it (none: the platform or the chain), when."""

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="history")
    action = models.CharField(max_length=32, choices=LoanAction.choices)
    from_status = models.CharField(max_length=16, blank=True, default="")
    to_status = models.CharField(max_length=16, blank=True, default="")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    tx_hash = models.CharField(max_length=66, blank=True, default="")
    details = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=clock.now, db_index=True)  # the platform's now (core.clock)

    class Meta:
        ordering = ["loan_id", "at", "id"]
        verbose_name_plural = "loan history entries"

    def __str__(self) -> str:
        return f"{self.loan_id}: {self.action} at {self.at:%Y-%m-%d %H:%M:%S}"


class VerificationScope(models.TextChoices):
    ALL = "all"
    SAMPLE = "sample"
    SELECTED = "selected"


class LoanVerificationReport(models.Model):
    """One integrity audit: loans recomputed from the DB and compared with `getLoan` on chain."""

    scope = models.CharField(max_length=16, choices=VerificationScope.choices)
    requested = models.PositiveIntegerField(help_text="sample size asked for, or loans selected")
    triggered_by = models.CharField(max_length=100, help_text="command, beat task or user")
    chain_id = models.PositiveBigIntegerField()
    block_number = models.PositiveBigIntegerField(null=True, blank=True, help_text="chain state read")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    checked = models.PositiveIntegerField(default=0)
    matched = models.PositiveIntegerField(default=0)
    mismatched = models.PositiveIntegerField(default=0)
    not_anchored = models.PositiveIntegerField(default=0)
    mismatches = models.JSONField(default=list, help_text="[{loan_id, problems, db_hash, chain_hash}]")
    not_anchored_ids = models.JSONField(default=list)

    class Meta:
        ordering = ["-finished_at"]
        get_latest_by = "finished_at"

    def __str__(self) -> str:
        return (
            f"loan verification {self.finished_at:%Y-%m-%d %H:%M}: "
            f"{self.mismatched} mismatched of {self.checked}"
        )

    @property
    def ok(self) -> bool:
        return self.mismatched == 0
