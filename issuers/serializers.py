"""Company API shapes."""

from __future__ import annotations

import pycountry
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from accounts.wallet_proof import WalletNotProven, WalletProof
from blockchain.chain.fields import EthereumAddressField
from blockchain.selectors import chain_summary, latest_transaction
from blockchain.serializers import ChainStatusSerializer
from issuers.models import (
    CID_PATTERN,
    DECISIONS_WITHOUT_REASON,
    Company,
    ComplianceReview,
    RegistrationStatus,
    ReviewDecision,
)
from issuers.onchain.intents import REGISTER_KIND
from issuers.services import require_known_decision

COUNTRY_CODES = sorted(country.alpha_2 for country in pycountry.countries)


class CountryField(serializers.CharField):
    default_error_messages = {"unknown_country": "Enter an ISO 3166-1 alpha-2 country code, e.g. DE."}

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("max_length", 2)
        kwargs.setdefault("min_length", 2)
        kwargs.setdefault("help_text", "ISO 3166-1 alpha-2")
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> str:
        country = pycountry.countries.get(alpha_2=super().to_internal_value(data).upper())
        if country is None:
            self.fail("unknown_country")
        return country.alpha_2

    def openapi_schema(self, direction: str) -> dict:
        """The codes it accepts (read by core.schema.AutoSchema); lower case is accepted too."""
        codes = COUNTRY_CODES + ([""] if self.allow_blank and direction == "request" else [])
        return {"enum": codes, "example": "DE"}


def _as_not_proven(detail):
    """The same messages, each with the code `wallet_not_proven` (API.md: any bad proof is one)."""
    if isinstance(detail, dict):
        return {key: _as_not_proven(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_as_not_proven(value) for value in detail]
    return ErrorDetail(str(detail), code=WalletNotProven.default_code)


class WalletProofSerializer(serializers.Serializer):
    """An EIP-4361 challenge (from /api/auth/wallet/challenge/) signed by the company wallet: 65
    bytes from an EOA, or whatever its EIP-1271 contract accepts."""

    message = serializers.CharField(max_length=4000, trim_whitespace=False)
    signature = serializers.RegexField(
        r"^0x(?:[0-9a-fA-F]{2})+$",
        max_length=2 + 2 * 4096,
        error_messages={"invalid": "The signature must be 0x-prefixed hex bytes."},
    )

    def run_validation(self, data=serializers.empty):
        try:
            return super().run_validation(data)
        except serializers.ValidationError as exc:  # missing or malformed
            raise serializers.ValidationError(_as_not_proven(exc.detail)) from None

    def validate(self, attrs: dict) -> WalletProof:
        return WalletProof(message=attrs["message"], signature=attrs["signature"])


class OnchainRegistrationSerializer(serializers.Serializer):
    registered = serializers.BooleanField()
    status = serializers.CharField()
    tx_hash = serializers.CharField(allow_blank=True)
    block_number = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(allow_blank=True)
    chain = ChainStatusSerializer()


class CidField(serializers.RegexField):
    """An IPFS CID (v0 `Qm…` or base32 v1 `b…`): the KYB document bundle."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("max_length", 128)
        kwargs.setdefault("error_messages", {"invalid": "Enter an IPFS CID (v0 'Qm…' or base32 v1 'b…')."})
        super().__init__(CID_PATTERN, **kwargs)

    def openapi_schema(self, direction: str) -> dict:
        """Read by core.schema.AutoSchema: a real CIDv1 as the example."""
        return {"example": "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"}


class CompanySerializer(serializers.ModelSerializer):
    country = CountryField()
    wallet_address = EthereumAddressField()
    document_cid = CidField()
    registration_number = serializers.RegexField(
        r"^[A-Za-z0-9./ -]{1,64}$",
        max_length=64,
        error_messages={"invalid": "Use up to 64 letters, digits, spaces, dots, slashes and hyphens."},
    )
    wallet_proof = WalletProofSerializer(
        write_only=True,
        help_text="Required on creation and with a new wallet_address: the wallet's EIP-4361 proof.",
    )
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    reviewed_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    onchain = serializers.SerializerMethodField()

    class Meta:
        model = Company
        read_only_fields = [
            "id",
            "owner",
            "wallet_proven_at",
            "kyb_status",
            "kyb_credential_id",
            "kyb_credential_fingerprint",
            "rejection_reason",
            "reviewed_by",
            "reviewed_at",
            "created_at",
            "updated_at",
        ]
        fields = [
            *read_only_fields[:2],
            "legal_name",
            "registration_number",
            "country",
            "wallet_address",
            "wallet_proof",
            "document_cid",
            *read_only_fields[2:],
            "onchain",
        ]

    @extend_schema_field(OnchainRegistrationSerializer)
    def get_onchain(self, company: Company) -> dict:
        """Registered only once registerIssuer is confirmed: the indexer may apply IssuerRegistered
        while the transaction still reads `sent` in `chain`, and the two must not disagree."""
        newest = latest_transaction(company)
        settling = (
            company.registration_status == RegistrationStatus.REGISTERED
            and newest is not None
            and newest.kind == REGISTER_KIND
            and newest.in_flight
        )
        return {
            "registered": company.registered and not settling,
            "status": RegistrationStatus.REGISTERING.value if settling else company.registration_status,
            "tx_hash": company.registered_tx_hash,
            "block_number": company.registered_block,
            "error": company.last_chain_error,
            "chain": chain_summary(newest),
        }


class DecisionField(serializers.ChoiceField):
    """A review's decision: a word of `ReviewDecision` that the subject takes (`choices`). Anything
    else is 400 `invalid_decision` with the valid words, as the services answer (one check)."""

    def to_internal_value(self, data):
        require_known_decision(decision=data, allowed=tuple(self.choices))
        return super().to_internal_value(data)


class ReviewRequestSerializer(serializers.Serializer):
    """A compliance decision: any but approve/release needs a reason (the service checks again)."""

    decision = DecisionField(choices=[ReviewDecision.APPROVE, ReviewDecision.REJECT])
    notes = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")

    def validate(self, attrs: dict) -> dict:
        if attrs["decision"] not in DECISIONS_WITHOUT_REASON and not attrs["notes"].strip():
            raise serializers.ValidationError({"notes": "This decision needs a reason."})
        return attrs


class CompanyReviewSerializer(ReviewRequestSerializer):
    """KYB: approve or reject."""


class ComplianceReviewSerializer(serializers.ModelSerializer):
    officer = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ComplianceReview
        fields = ["decision", "notes", "from_status", "to_status", "officer", "created_at"]
        read_only_fields = fields
