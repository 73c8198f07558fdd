"""Campaign API shapes."""

from __future__ import annotations

from datetime import tzinfo
from decimal import Decimal

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import ISO_8601, serializers
from rest_framework.settings import api_settings

from accounts.models import InvestorProfile
from blockchain.models import ChainTransaction
from blockchain.selectors import PREFETCHED_TRANSACTIONS, chain_summary, latest_transaction
from blockchain.serializers import ChainStatusField, ChainStatusSerializer
from campaigns.models import Campaign, CertificateStatus, Investment, RejectionReason, ShareCertificate
from campaigns.onchain.intents import CREATE_KIND, FINALIZE_KIND, MINT_KIND
from campaigns.selectors import SHOWN_CAMPAIGN_STATUSES, SHOWN_INVESTMENT_STATUSES, shown_status
from campaigns.services import REVIEW_DECISIONS, allowed_actions, check_rejection_reason
from issuers.models import Company, ReviewDecision
from issuers.serializers import CountryField, DecisionField, ReviewRequestSerializer

AMOUNT = {"max_digits": 30, "decimal_places": 6, "min_value": Decimal("0.000001"), "coerce_to_string": True}


class ShownStatusField(serializers.Field):
    """`status` as campaigns.selectors derives it: never ahead of the row's `chain` (a cancel reads
    `cancelling` until the chain confirms it). The same values filter the lists."""

    def __init__(self, *, choices: list[str], **kwargs) -> None:
        self.choices = choices
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, row) -> str:
        return shown_status(row)


@extend_schema_field(serializers.ChoiceField(choices=SHOWN_CAMPAIGN_STATUSES))
class CampaignStatusField(ShownStatusField):
    def __init__(self, **kwargs) -> None:
        super().__init__(choices=SHOWN_CAMPAIGN_STATUSES, **kwargs)


@extend_schema_field(serializers.ChoiceField(choices=SHOWN_INVESTMENT_STATUSES))
class InvestmentStatusField(ShownStatusField):
    def __init__(self, **kwargs) -> None:
        super().__init__(choices=SHOWN_INVESTMENT_STATUSES, **kwargs)


class CampaignSerializer(serializers.ModelSerializer):
    goal = serializers.DecimalField(**AMOUNT)
    hard_cap = serializers.DecimalField(**AMOUNT)
    min_investment = serializers.DecimalField(**AMOUNT)
    share_price = serializers.DecimalField(**AMOUNT)
    raised = serializers.DecimalField(max_digits=30, decimal_places=6, read_only=True, coerce_to_string=True)
    pending_amount = serializers.DecimalField(
        max_digits=30, decimal_places=6, read_only=True, coerce_to_string=True
    )
    status = CampaignStatusField()
    allowed_actions = serializers.SerializerMethodField(
        help_text="what the caller may do now: the state allows it and their role and ownership do"
    )
    chain = serializers.SerializerMethodField(
        help_text="the newest createCampaign or finalize transaction (certificates carry their mints)"
    )

    class Meta:
        model = Campaign
        read_only_fields = [
            "id",
            "status",
            "contract_address",
            "campaign_ref",
            "raised",
            "pending_amount",
            "investor_count",
            "last_chain_error",
            "submitted_at",
            "approved_at",
            "activated_at",
            "close_requested_at",
            "closed_at",
            "cancelled_at",
            "cancellation_reason",
            "created_at",
            "updated_at",
        ]
        fields = [
            "issuer",
            "title",
            "description",
            "goal",
            "hard_cap",
            "min_investment",
            "share_price",
            "starts_at",
            "ends_at",
            *read_only_fields,
            "allowed_actions",
            "chain",
        ]

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        issuer = fields.get("issuer")
        if issuer is not None and not issuer.read_only:
            # Only the caller's own companies: anything else is "does not exist" (400).
            user = getattr(request, "user", None)
            issuer.queryset = (
                Company.objects.filter(owner=user)
                if user is not None and user.is_authenticated
                else Company.objects.none()
            )
        return fields

    def get_allowed_actions(self, campaign: Campaign) -> list[str]:
        request = self.context.get("request")
        user = getattr(request, "user", None)
        return [] if user is None else allowed_actions(campaign=campaign, user=user)

    @extend_schema_field(ChainStatusSerializer)
    def get_chain(self, campaign: Campaign) -> dict:
        """The campaign's own life cycle, which its status follows; a mintBatch is its certificates'."""
        return campaign_chain(campaign)

    def validate(self, attrs: dict) -> dict:
        current = (
            {}
            if self.instance is None
            else {f: getattr(self.instance, f) for f in ("goal", "hard_cap", "min_investment")}
        )
        merged = {**current, **attrs}
        errors = {}
        if (
            merged.get("goal") is not None
            and merged.get("hard_cap") is not None
            and merged["goal"] > merged["hard_cap"]
        ):
            errors["goal"] = "The goal cannot be above the hard cap."
        if (
            merged.get("min_investment") is not None
            and merged.get("hard_cap") is not None
            and merged["min_investment"] > merged["hard_cap"]
        ):
            errors["min_investment"] = "The minimum investment cannot be above the hard cap."
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


def campaign_chain(campaign: Campaign) -> dict:
    """A campaign's `chain`: its newest createCampaign or finalize transaction."""
    rows = [latest_transaction(campaign, kind=kind) for kind in (CREATE_KIND, FINALIZE_KIND)]
    rows = [row for row in rows if row is not None]
    return dict(chain_summary(max(rows, key=lambda tx: tx.pk) if rows else None))


# Unbound read-only fields that format as CampaignSerializer's do (shared: they hold no state).
_AMOUNT = serializers.DecimalField(max_digits=30, decimal_places=6, coerce_to_string=True, read_only=True)
_DATETIME = serializers.DateTimeField(read_only=True)


def _amount(value) -> str | None:
    """`_AMOUNT.to_representation(value)`; a Decimal that already has its six places and fits the
    field's digits (every amount read from a numeric(30, 6) column) is formatted directly, since
    quantizing it changes nothing."""
    if value is None:
        return None
    if isinstance(value, Decimal) and value.is_finite():
        _sign, digits, exponent = value.as_tuple()
        if exponent == -_AMOUNT.decimal_places and len(digits) <= _AMOUNT.max_digits:
            return f"{value:f}"
    return _AMOUNT.to_representation(value)


def _datetime(value, zone) -> str | None:
    """`_DATETIME.to_representation(value)` with the current time zone looked up by the caller once
    per row instead of once per value (DRF asks asgiref's context-local for it on every call)."""
    if value is None:
        return None
    if timezone.is_naive(value) or api_settings.DATETIME_FORMAT.lower() != ISO_8601:
        return _DATETIME.to_representation(value)
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def campaign_representation(campaign: Campaign, *, user, zone: tzinfo | None = None) -> dict:
    """`CampaignSerializer(campaign, context={"request": request}).data` for `request.user == user`,
    field for field and in its order, without DRF building the serializer's 28 fields per request
    and walking them per row (the list's first page uses it on `selectors.first_campaign_page`'s
    rows; tests check the two agree for every state and kind of caller). `zone`: the current time
    zone, when the caller has looked it up for a page of rows."""
    if zone is None:
        zone = timezone.get_current_timezone()
    return {
        "issuer": campaign.issuer_id,
        "title": campaign.title,
        "description": campaign.description,
        "goal": _amount(campaign.goal),
        "hard_cap": _amount(campaign.hard_cap),
        "min_investment": _amount(campaign.min_investment),
        "share_price": _amount(campaign.share_price),
        "starts_at": _datetime(campaign.starts_at, zone),
        "ends_at": _datetime(campaign.ends_at, zone),
        "id": campaign.pk,
        "status": shown_status(campaign),
        "contract_address": campaign.contract_address,
        "campaign_ref": campaign.campaign_ref,
        "raised": _amount(campaign.raised),
        "pending_amount": _amount(campaign.pending_amount),
        "investor_count": campaign.investor_count,
        "last_chain_error": campaign.last_chain_error,
        "submitted_at": _datetime(campaign.submitted_at, zone),
        "approved_at": _datetime(campaign.approved_at, zone),
        "activated_at": _datetime(campaign.activated_at, zone),
        "close_requested_at": _datetime(campaign.close_requested_at, zone),
        "closed_at": _datetime(campaign.closed_at, zone),
        "cancelled_at": _datetime(campaign.cancelled_at, zone),
        "cancellation_reason": campaign.cancellation_reason,
        "created_at": _datetime(campaign.created_at, zone),
        "updated_at": _datetime(campaign.updated_at, zone),
        "allowed_actions": allowed_actions(campaign=campaign, user=user),
        "chain": campaign_chain(campaign),
    }


class CampaignUpdateSerializer(CampaignSerializer):
    class Meta(CampaignSerializer.Meta):
        read_only_fields = [*CampaignSerializer.Meta.read_only_fields, "issuer"]


class CampaignReviewSerializer(ReviewRequestSerializer):
    decision = DecisionField(choices=list(REVIEW_DECISIONS))


class CampaignCancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class AMLSerializer(serializers.Serializer):
    flags = serializers.ListField(child=serializers.DictField(), help_text="[{rule, score, details}]")


class InvestmentSerializer(serializers.ModelSerializer):
    """An investment as its investor sees it: the status and, when rejected, a reason from the fixed
    customer-facing list. No AML flags, no officer's notes (no tipping off): those are in
    `StaffInvestmentSerializer`, which only compliance and operators get."""

    campaign = serializers.PrimaryKeyRelatedField(read_only=True)
    investor = serializers.SlugRelatedField(slug_field="username", read_only=True)
    amount = serializers.DecimalField(max_digits=30, decimal_places=6, coerce_to_string=True, read_only=True)
    rejection_reason = serializers.ChoiceField(
        choices=RejectionReason.choices,
        allow_blank=True,
        read_only=True,
        help_text="when rejected: a code of the fixed customer-facing list; empty otherwise",
    )
    rejection_message = serializers.SerializerMethodField(
        help_text="the sentence for `rejection_reason`, to show the investor"
    )
    status = InvestmentStatusField()
    chain = ChainStatusField()

    class Meta:
        model = Investment
        fields = [
            "id",
            "campaign",
            "investor",
            "investor_wallet",
            "amount",
            "status",
            "investment_ref",
            "recorded_tx_hash",
            "confirmed_at",
            "cancel_requested_at",
            "cancelled_at",
            "rejection_reason",
            "rejection_message",
            "last_chain_error",
            "created_at",
            "chain",
        ]
        read_only_fields = fields

    def get_rejection_message(self, investment: Investment) -> str:
        return RejectionReason(investment.rejection_reason).label if investment.rejection_reason else ""


class StaffInvestmentSerializer(InvestmentSerializer):
    """Compliance and operators: the investor's view plus the AML flags and the rejection notes."""

    aml = serializers.SerializerMethodField()

    class Meta(InvestmentSerializer.Meta):
        fields = [*InvestmentSerializer.Meta.fields, "aml", "rejection_notes"]
        read_only_fields = fields

    @extend_schema_field(AMLSerializer)
    def get_aml(self, investment: Investment) -> dict:
        alerts = investment.alerts.all()
        return {"flags": [{"rule": a.rule, "score": a.score, "details": a.details} for a in alerts]}


class InvestRequestSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=30, decimal_places=6, min_value=Decimal("0.000001"))


class RejectionReasonField(serializers.ChoiceField):
    """A reason outside the customer-facing list is 400 naming the valid ones
    (services.check_rejection_reason)."""

    def to_internal_value(self, data):
        if data not in ("", None):
            check_rejection_reason(decision=ReviewDecision.REJECT, reason=data)
        return super().to_internal_value(data)


class InvestmentReviewSerializer(ReviewRequestSerializer):
    """Release, or reject with `reason` (what the investor is told, from the fixed list) and `notes`
    (why, in the officer's words: staff-only)."""

    decision = DecisionField(choices=[ReviewDecision.RELEASE, ReviewDecision.REJECT])
    reason = RejectionReasonField(
        choices=RejectionReason.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="required to reject: the customer-facing reason the investor sees",
    )

    def validate(self, attrs: dict) -> dict:
        attrs = super().validate(attrs)
        check_rejection_reason(decision=attrs["decision"], reason=attrs["reason"])
        return attrs


class InvestorProfileSerializer(serializers.ModelSerializer):
    annual_income = serializers.DecimalField(
        max_digits=16, decimal_places=2, min_value=Decimal(0), coerce_to_string=True
    )
    net_worth = serializers.DecimalField(
        max_digits=16, decimal_places=2, min_value=Decimal(0), coerce_to_string=True
    )
    country = CountryField(required=False, allow_blank=True)
    accredited = serializers.SerializerMethodField()
    limit_12m = serializers.SerializerMethodField(help_text="null: no limit (accredited)")
    invested_12m = serializers.SerializerMethodField()

    class Meta:
        model = InvestorProfile
        fields = ["annual_income", "net_worth", "country", "accredited", "limit_12m", "invested_12m"]

    def get_accredited(self, profile: InvestorProfile) -> bool:
        from credentials.selectors import is_accredited

        return is_accredited(profile.user)

    def get_limit_12m(self, profile: InvestorProfile) -> str | None:
        from campaigns.services import limit_12m

        limit = limit_12m(profile.user, profile=profile)
        return None if limit is None else f"{limit:f}"

    def get_invested_12m(self, profile: InvestorProfile) -> str:
        from campaigns.services import invested_12m

        return f"{invested_12m(profile.user):f}"


class ShareCertificateSerializer(serializers.ModelSerializer):
    campaign = serializers.PrimaryKeyRelatedField(read_only=True)
    contract_address = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField(
        help_text="minting|minted|failed: `minting` until its mintBatch is confirmed"
    )
    chain = serializers.SerializerMethodField()

    class Meta:
        model = ShareCertificate
        fields = [
            "token_id",
            "campaign",
            "investment",
            "shares",
            "owner",
            "status",
            "contract_address",
            "minted_tx_hash",
            "chain",
        ]
        read_only_fields = fields

    def get_contract_address(self, certificate: ShareCertificate) -> str | None:
        """One lookup per response, not one per row (a list repeats the same contract)."""
        if "certificate_contract" not in self.context:
            from blockchain.chain.bindings import NotDeployed, deployment_of

            try:
                self.context["certificate_contract"] = deployment_of("ShareCertificate").address
            except NotDeployed:
                self.context["certificate_contract"] = None
        return self.context["certificate_contract"]

    @extend_schema_field(serializers.ChoiceField(choices=CertificateStatus.values))
    def get_status(self, certificate: ShareCertificate) -> str:
        """Minted once its mintBatch is confirmed: the indexer may see the Transfer first."""
        mint = self._mint_transaction(certificate)
        if certificate.status == CertificateStatus.MINTED and mint is not None and mint.in_flight:
            return CertificateStatus.MINTING.value
        return certificate.status

    @extend_schema_field(ChainStatusSerializer)
    def get_chain(self, certificate: ShareCertificate) -> dict:
        """The state of the mintBatch transaction that carries this certificate."""
        return dict(chain_summary(self._mint_transaction(certificate)))

    def _mint_transaction(self, certificate: ShareCertificate) -> ChainTransaction | None:
        campaign = certificate.campaign
        transactions = getattr(campaign, PREFETCHED_TRANSACTIONS, None)
        if transactions is None:  # not listed through certificates_for
            transactions = campaign.chain_transactions.all()
        wanted = f"{MINT_KIND}:"
        rows = [
            tx
            for tx in transactions
            if tx.kind == MINT_KIND
            and tx.idempotency_key.startswith(wanted)
            and tx.idempotency_key.endswith(f":{certificate.mint_batch}")
        ]
        return max(rows, key=lambda tx: tx.pk) if rows else None
