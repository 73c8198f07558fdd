"""Investment campaigns and their life cycle."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.db import models

from blockchain.models import ChainTransaction
from core import clock

# What the database refuses whatever the settings say: a run shorter than the lowest value
# CAMPAIGN_MIN_RUN_DAYS may take (core.env_checks). The platform's rule, Regulation Crowdfunding's 21 days
# unless development shortens it, is `campaigns.services.min_campaign_run()`.
SHORTEST_CAMPAIGN_RUN = timedelta(days=1)
ROLLING_WINDOW = timedelta(days=365)
ADDRESS_PATTERN = r"^0x[0-9a-fA-F]{40}$"

# Campaign amounts, investor limits and the AML thresholds are US dollars (Regulation Crowdfunding;
# accounts.models.InvestorProfile).
CAMPAIGN_CURRENCY = "USD"


class CampaignStatus(models.TextChoices):
    DRAFT = "draft"
    PENDING_REVIEW = "pending_review"
    APPROVED = "approved"  # approved; not deployed (never requested, or the last deployment failed)
    DEPLOYING = "deploying"  # createCampaign is in the outbox or on its way
    ACTIVE = "active"
    SUCCESSFUL = "successful"
    FAILED = "failed"
    CANCELLED = "cancelled"


# At most one campaign per company in these (the exclusivity rule; a partial unique index).
IN_PROGRESS = (
    CampaignStatus.PENDING_REVIEW,
    CampaignStatus.APPROVED,
    CampaignStatus.DEPLOYING,
    CampaignStatus.ACTIVE,
)
PUBLIC_STATUSES = (CampaignStatus.ACTIVE, CampaignStatus.SUCCESSFUL)


class Campaign(models.Model):
    """A company's raise. Approval deploys its contract (a Campaign clone) through the outbox."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    campaign_ref = models.CharField(max_length=66, unique=True, help_text="bytes32 on chain (CREATE2 salt)")
    issuer = models.ForeignKey("issuers.Company", on_delete=models.PROTECT, related_name="campaigns")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    goal = models.DecimalField(max_digits=30, decimal_places=6)
    hard_cap = models.DecimalField(max_digits=30, decimal_places=6)
    min_investment = models.DecimalField(max_digits=30, decimal_places=6)
    share_price = models.DecimalField(max_digits=30, decimal_places=6)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()

    status = models.CharField(
        max_length=16, choices=CampaignStatus.choices, default=CampaignStatus.DRAFT, db_index=True
    )
    contract_address = models.CharField(max_length=42, blank=True, default="")
    deploy_attempt = models.PositiveSmallIntegerField(default=0)
    finalize_attempt = models.PositiveSmallIntegerField(default=0)
    last_chain_error = models.CharField(max_length=300, blank=True, default="")

    raised = models.DecimalField(max_digits=30, decimal_places=6, default=0, help_text="from the chain")
    pending_amount = models.DecimalField(max_digits=30, decimal_places=6, default=0)
    investor_count = models.PositiveIntegerField(default=0)
    certificate_batches = models.PositiveIntegerField(default=0, help_text="mintBatch intents requested")

    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    close_requested_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancellation_reason = models.TextField(blank=True, default="")
    created_tx_hash = models.CharField(max_length=66, blank=True, default="")
    finalized_tx_hash = models.CharField(max_length=66, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    chain_transactions = GenericRelation(ChainTransaction, related_query_name="campaign")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["issuer", "status"], name="campaign_issuer_status_idx"),
            models.Index(fields=["status", "ends_at"], name="campaign_status_ends_idx"),
            # The list's order (Meta.ordering): a page is read in index order and stops after its rows,
            # instead of joining and sorting every public campaign (bench/explain.md, `make bench` scale).
            models.Index(fields=["-created_at", "-id"], name="campaign_newest_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["issuer"],
                condition=models.Q(status__in=[s.value for s in IN_PROGRESS]),
                name="one_campaign_in_progress_per_company",
            ),
            models.UniqueConstraint(
                fields=["contract_address"],
                condition=~models.Q(contract_address=""),
                name="campaign_contract_address_unique",
            ),
            models.CheckConstraint(condition=models.Q(goal__gt=0), name="campaign_goal_positive"),
            models.CheckConstraint(
                condition=models.Q(goal__lte=models.F("hard_cap")), name="campaign_goal_within_cap"
            ),
            models.CheckConstraint(
                condition=models.Q(min_investment__gt=0, min_investment__lte=models.F("hard_cap")),
                name="campaign_min_investment_range",
            ),
            models.CheckConstraint(
                condition=models.Q(share_price__gt=0), name="campaign_share_price_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(ends_at__gte=models.F("starts_at") + SHORTEST_CAMPAIGN_RUN),
                name="campaign_runs_at_least_one_day",
            ),
            models.CheckConstraint(
                condition=models.Q(contract_address="") | models.Q(contract_address__regex=ADDRESS_PATTERN),
                name="campaign_contract_address_format",
            ),
            models.CheckConstraint(
                condition=~models.Q(
                    status__in=[CampaignStatus.ACTIVE, CampaignStatus.SUCCESSFUL, CampaignStatus.FAILED]
                )
                | ~models.Q(contract_address=""),
                name="live_campaign_has_contract",
            ),
            models.CheckConstraint(condition=models.Q(raised__gte=0), name="campaign_raised_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.status})"


class InvestmentStatus(models.TextChoices):
    PENDING = "pending"  # created and being screened (inside the request's transaction)
    HELD_FOR_REVIEW = "held_for_review"  # an AML rule hit: compliance releases or rejects it
    RECORDING = "recording"  # recordInvestment is in the outbox or on its way
    CONFIRMED = "confirmed"  # InvestmentRecorded confirmed
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    REFUNDED = "refunded"  # confirmed in a campaign that failed
    FAILED = "failed"  # recordInvestment failed (see last_chain_error)


# These count against the campaign's hard cap and the investor's 12-month limit.
COUNTED_STATUSES = (
    InvestmentStatus.PENDING,
    InvestmentStatus.HELD_FOR_REVIEW,
    InvestmentStatus.RECORDING,
    InvestmentStatus.CONFIRMED,
)
IN_FLIGHT_INVESTMENT = (
    InvestmentStatus.PENDING,
    InvestmentStatus.HELD_FOR_REVIEW,
    InvestmentStatus.RECORDING,
)


class RejectionReason(models.TextChoices):
    """What an investor is told about a rejected investment: a fixed, customer-facing list (the
    label is the sentence shown). Never the officer's notes nor what screening found: telling a
    customer that they were flagged, or that a report was filed, is tipping off. Those stay in
    `Investment.rejection_notes`, the review record and the AML alerts, all staff-only."""

    NOT_ELIGIBLE = "not_eligible", "The investment does not meet the campaign's eligibility requirements."
    LIMIT_EXCEEDED = "limit_exceeded", "The investment is above a limit that applies to you."
    DOCUMENTS_REQUIRED = (
        "documents_required",
        "We need further documents from you before we can accept this investment.",
    )
    JURISDICTION = "jurisdiction", "Investments from your country cannot be accepted for this campaign."
    CAMPAIGN_CLOSED = "campaign_closed", "The campaign closed before the investment could be accepted."
    OTHER = "other", "We cannot accept this investment."


# Automatic rejections (sanctions screening) show the generic reason officers also give, so the
# investor cannot tell a screening hit from any other refusal.
SCREENING_REJECTION = RejectionReason.OTHER


class Investment(models.Model):
    """One investor's commitment to one campaign, recorded on the campaign's contract exactly once."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    investment_ref = models.CharField(max_length=66, unique=True, help_text="bytes32 on chain")
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="investments")
    investor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="investments"
    )
    investor_wallet = models.CharField(max_length=42)
    amount = models.DecimalField(max_digits=30, decimal_places=6)
    status = models.CharField(
        max_length=16, choices=InvestmentStatus.choices, default=InvestmentStatus.PENDING
    )
    record_attempt = models.PositiveSmallIntegerField(default=0)
    cancel_attempt = models.PositiveSmallIntegerField(default=0)
    recorded_tx_hash = models.CharField(max_length=66, blank=True, default="")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_tx_hash = models.CharField(max_length=66, blank=True, default="")
    rejection_reason = models.CharField(
        max_length=32,
        choices=RejectionReason.choices,
        blank=True,
        default="",
        help_text="what the investor is told (a fixed list)",
    )
    rejection_notes = models.TextField(
        blank=True,
        default="",
        help_text="staff-only: the officer's or the screening's words behind a rejection",
    )
    last_chain_error = models.CharField(max_length=300, blank=True, default="")
    # When the investment was made, on the platform's clock (core.clock): the 12-month limit counts
    # from it against clock.now().
    created_at = models.DateTimeField(default=clock.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    chain_transactions = GenericRelation(ChainTransaction, related_query_name="investment")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["campaign", "status"], name="investment_campaign_idx"),
            models.Index(fields=["investor", "created_at"], name="investment_investor_idx"),
            models.Index(fields=["status", "created_at"], name="investment_queue_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="investment_amount_positive"),
            models.CheckConstraint(
                condition=models.Q(investor_wallet__regex=ADDRESS_PATTERN), name="investment_wallet_format"
            ),
            # Only a code of the fixed list reaches the investor, and every rejection has one.
            models.CheckConstraint(
                condition=models.Q(rejection_reason="")
                | models.Q(rejection_reason__in=RejectionReason.values),
                name="investment_rejection_reason_listed",
            ),
            models.CheckConstraint(
                condition=~models.Q(status=InvestmentStatus.REJECTED) | ~models.Q(rejection_reason=""),
                name="rejected_investment_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} in {self.campaign_id} by {self.investor_id} ({self.status})"


class AMLRule(models.TextChoices):
    LARGE_AMOUNT = "large_amount"
    VELOCITY_COUNT = "velocity_count"
    VELOCITY_TOTAL = "velocity_total"
    STRUCTURING = "structuring"
    SANCTIONED_WALLET = "sanctioned_wallet"
    RESTRICTED_COUNTRY = "restricted_country"


class AMLAlert(models.Model):
    """One rule an investment tripped when it was screened."""

    investment = models.ForeignKey(Investment, on_delete=models.CASCADE, related_name="alerts")
    rule = models.CharField(max_length=32, choices=AMLRule.choices)
    score = models.PositiveSmallIntegerField(help_text="0–100: how strongly the rule fired")
    details = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=models.Q(score__lte=100), name="aml_score_range")]

    def __str__(self) -> str:
        return f"{self.rule} ({self.score}) on investment {self.investment_id}"


class SanctionedWallet(models.Model):
    """A wallet investments are refused from (compliance keeps the list in the admin)."""

    address = models.CharField(max_length=42, unique=True, help_text="EIP-55")
    source = models.CharField(max_length=100, blank=True, default="", help_text="e.g. OFAC SDN")
    note = models.TextField(blank=True, default="")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["address"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(address__regex=ADDRESS_PATTERN), name="sanctioned_wallet_format"
            )
        ]

    def __str__(self) -> str:
        return self.address


class CountryRestriction(models.Model):
    """Investors from `country` are held for review: in one campaign, or everywhere (no campaign)."""

    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.CASCADE, related_name="country_restrictions"
    )
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2")
    note = models.TextField(blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "country"], name="country_restriction_unique"),
            models.CheckConstraint(
                condition=models.Q(country__regex=r"^[A-Z]{2}$"), name="restriction_country_format"
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.country} ({'campaign ' + str(self.campaign_id) if self.campaign_id else 'all campaigns'})"
        )


class CertificateStatus(models.TextChoices):
    MINTING = "minting"  # its mintBatch is in the outbox or on its way
    MINTED = "minted"
    FAILED = "failed"


class ShareCertificate(models.Model):
    """The ERC-721 certificate of one confirmed investment in a successful campaign. `owner` follows
    the token's Transfer events, so a holder's on-chain transfer shows here."""

    investment = models.OneToOneField(Investment, on_delete=models.PROTECT, related_name="certificate")
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="certificates")
    certificate_ref = models.CharField(max_length=66, unique=True, help_text="bytes32 on chain")
    shares = models.PositiveBigIntegerField()
    uri = models.CharField(max_length=300, blank=True, default="")
    mint_batch = models.PositiveIntegerField(help_text="which of the campaign's mintBatch intents holds it")
    status = models.CharField(
        max_length=16, choices=CertificateStatus.choices, default=CertificateStatus.MINTING
    )
    token_id = models.PositiveBigIntegerField(null=True, blank=True, unique=True)
    owner = models.CharField(
        max_length=42, blank=True, default="", help_text="the `to` of the last surviving Transfer"
    )
    minted_tx_hash = models.CharField(max_length=66, blank=True, default="")
    last_chain_error = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["campaign_id", "id"]
        indexes = [models.Index(fields=["campaign", "mint_batch"], name="certificate_batch_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(shares__gt=0), name="certificate_shares_positive"),
            models.CheckConstraint(
                condition=~models.Q(status=CertificateStatus.MINTED) | models.Q(token_id__isnull=False),
                name="minted_certificate_has_token",
            ),
        ]

    def __str__(self) -> str:
        return f"certificate #{self.token_id or '?'} ({self.shares} shares, {self.status})"
