"""Loan API shapes. Validation here gives per-field 400s; the services enforce the same rules."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from blockchain.chain.fields import EthereumAddressField
from blockchain.serializers import ChainStatusField, ChainStatusSerializer
from core import clock
from loans.currencies import MINOR_UNITS, UnknownCurrency, minor_units, normalize_currency
from loans.models import (
    HASHED_FIELDS,
    LOAN_ID_PATTERN,
    MAX_INTEREST_RATE_BPS,
    MAX_TERM_MONTHS,
    Loan,
    LoanHistoryEntry,
)
from loans.selectors import SHOWN_LOAN_STATUSES, shown_status


class CurrencyField(serializers.CharField):
    default_error_messages = {"unknown_currency": "{message}"}

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("max_length", 3)
        kwargs.setdefault("min_length", 3)
        kwargs.setdefault("help_text", "ISO 4217 code, e.g. USD")
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> str:
        value = super().to_internal_value(data)
        try:
            return normalize_currency(value)
        except UnknownCurrency as exc:
            self.fail("unknown_currency", message=str(exc))

    def openapi_schema(self, direction: str) -> dict:
        """The codes it accepts (read by core.schema.AutoSchema); lower case is accepted too."""
        return {"enum": sorted(MINOR_UNITS), "example": "USD"}


@extend_schema_field(serializers.ChoiceField(choices=SHOWN_LOAN_STATUSES))
class LoanStatusField(serializers.Field):
    """`status` as loans.selectors derives it: never ahead of the loan's `chain` (a repayment reads
    `repaying` until markRepaid is confirmed). The same values filter the list."""

    def __init__(self, **kwargs) -> None:
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, loan: Loan) -> str:
        return shown_status(loan)


class LoanSerializer(serializers.ModelSerializer):
    loan_id = serializers.RegexField(
        LOAN_ID_PATTERN,
        max_length=100,
        error_messages={"invalid": "Use 1 to 100 letters, digits and hyphens."},
    )
    borrower_wallet = EthereumAddressField()
    lender_wallet = EthereumAddressField()
    principal = serializers.DecimalField(
        max_digits=24, decimal_places=6, min_value=Decimal("0.000001"), coerce_to_string=True
    )
    currency = CurrencyField()
    interest_rate_bps = serializers.IntegerField(min_value=0, max_value=MAX_INTEREST_RATE_BPS)
    term_months = serializers.IntegerField(min_value=1, max_value=MAX_TERM_MONTHS)
    approved_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    status = LoanStatusField()
    chain = ChainStatusField()

    class Meta:
        model = Loan
        read_only_fields = [
            "status",
            "loan_hash",
            "repaid_at",
            "repaid_hash",
            "last_chain_error",
            "anchored_tx_hash",
            "anchored_block",
            "anchored_at",
            "repaid_tx_hash",
            "repaid_block",
            "approved_at",
            "defaulted_at",
            "created_at",
            "updated_at",
        ]
        fields = [
            *HASHED_FIELDS,
            "start_date",
            "notes",
            *read_only_fields,
            "created_by",
            "approved_by",
            "chain",
        ]

    def validate(self, attrs: dict) -> dict:
        instance: Loan | None = self.instance
        borrower = attrs.get("borrower_wallet", instance.borrower_wallet if instance else None)
        lender = attrs.get("lender_wallet", instance.lender_wallet if instance else None)
        if borrower and borrower == lender:
            raise serializers.ValidationError({"lender_wallet": "The lender must not be the borrower."})
        principal = attrs.get("principal", instance.principal if instance else None)
        currency = attrs.get("currency", instance.currency if instance else None)
        if principal is not None and currency:
            places = minor_units(currency)
            if principal != principal.quantize(Decimal(1).scaleb(-places)):
                raise serializers.ValidationError(
                    {"principal": f"{currency} amounts have at most {places} decimal places."}
                )
        return attrs


class LoanUpdateSerializer(LoanSerializer):
    """PATCH: every term is optional; hashed terms only change on drafts (the service says 409)."""

    class Meta(LoanSerializer.Meta):
        extra_kwargs = {name: {"required": False} for name in LoanSerializer.Meta.fields}


class LoanChainStatusSerializer(serializers.Serializer):
    anchored = serializers.BooleanField()
    repaid = serializers.BooleanField()
    loan_hash = serializers.CharField(allow_blank=True)
    repaid_hash = serializers.CharField(allow_blank=True)
    chain = ChainStatusSerializer()


class LoanVerificationSerializer(serializers.Serializer):
    loan_id = serializers.CharField()
    verified = serializers.BooleanField()
    outcome = serializers.ChoiceField(choices=["matched", "mismatched", "not_anchored"])
    db_hash = serializers.CharField(help_text="recomputed from the database row now")
    approved_hash = serializers.CharField(allow_blank=True, help_text="the hash fixed at approval")
    chain_hash = serializers.CharField(allow_null=True)
    anchored_db = serializers.BooleanField()
    anchored_chain = serializers.BooleanField()
    repaid_db = serializers.BooleanField()
    repaid_chain = serializers.BooleanField()
    db_repaid_hash = serializers.CharField(allow_null=True)
    chain_repaid_hash = serializers.CharField(allow_null=True)
    block_number = serializers.IntegerField()
    problems = serializers.ListField(child=serializers.CharField())


class MarkRepaidSerializer(serializers.Serializer):
    repaid_at = serializers.DateTimeField(required=False, help_text="default: now")

    def validate_repaid_at(self, value):
        if value > clock.now():  # the platform's now, as the service checks
            raise serializers.ValidationError("The repayment date cannot be in the future.")
        return value


class MarkDefaultedSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class LoanHistoryEntrySerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = LoanHistoryEntry
        fields = ["action", "from_status", "to_status", "actor", "tx_hash", "details", "at"]
        read_only_fields = fields
