"""Credential API shapes."""

from __future__ import annotations

import contextlib

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import User
from blockchain.chain.fields import EthereumAddressField, address_schema
from blockchain.selectors import chain_summary, latest_transaction
from blockchain.serializers import ChainStatusField
from core.representation import Representation
from credentials.bundles import BUNDLE_FORMAT
from credentials.fingerprints import CREDENTIAL_SCHEME, LEAF_ENCODING
from credentials.models import SHARE_ID_PATTERN, Credential, CredentialBatch, CredentialStatus, Institution
from credentials.selectors import SHOWN_CREDENTIAL_STATUSES, batch_credential_ids, shown_status
from credentials.verification import checks_of

UINT256_MAX = 2**256 - 1  # the vault's credential ids are uint256


class InstitutionSerializer(serializers.ModelSerializer):
    address = EthereumAddressField()
    chain = ChainStatusField()

    class Meta:
        model = Institution
        fields = [
            "address",
            "name",
            "metadata_uri",
            "kyc_provider",
            "active",
            "sync_status",
            "last_chain_error",
            "updated_at",
            "chain",
        ]
        read_only_fields = ["sync_status", "last_chain_error", "updated_at"]
        extra_kwargs = {
            "metadata_uri": {"required": False},
            "kyc_provider": {"required": False},
            "active": {"required": False},
        }


class CredentialChainField(ChainStatusField):
    """A credential's `chain`: its newest own transaction (issueCredential, a revocation), and for a
    credential of a Merkle batch, which has no issuing transaction of its own, the batch's
    anchorBatch, so it never reads another status than its batch's; a revocation asked for later is
    newer and shows, as for a single credential."""

    def to_representation(self, instance: Credential) -> dict:
        candidates = [latest_transaction(instance)]
        if instance.batch_id:
            candidates.append(latest_transaction(instance.batch))
        newest = max((tx for tx in candidates if tx is not None), key=lambda tx: tx.pk, default=None)
        return dict(chain_summary(newest))


class CredentialSerializer(serializers.ModelSerializer):
    institution = serializers.SlugRelatedField(slug_field="address", read_only=True)
    batch_id = serializers.SerializerMethodField()
    merkle_root = serializers.CharField(
        source="batch.merkle_root", read_only=True, default=None, allow_null=True
    )
    status = serializers.SerializerMethodField(
        help_text="pending until its anchoring transaction (a batched one's: the batch's) is confirmed; "
        "revoking from a revocation request until its transaction is"
    )
    valid = serializers.SerializerMethodField()
    expired = serializers.BooleanField(read_only=True)
    chain = CredentialChainField()

    class Meta:
        model = Credential
        fields = [
            "id",
            "share_id",
            "institution",
            "subject_wallet",
            "credential_type",
            "document",
            "fingerprint",
            "onchain_id",
            "batch_id",
            "merkle_root",
            "leaf",
            "proof",
            "status",
            "valid",
            "expired",
            "issued_at",
            "expires_at",
            "revocation_reason",
            "revocation_requested_at",
            "revoked_at",
            "last_chain_error",
            "created_at",
            "chain",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=SHOWN_CREDENTIAL_STATUSES))
    def get_status(self, credential: Credential) -> str:
        return shown_status(credential)

    def get_valid(self, credential: Credential) -> bool:
        """Valid only once the status shown is `issued` (never while its anchoring is on its way)."""
        return credential.valid and shown_status(credential) == CredentialStatus.ISSUED

    def get_batch_id(self, credential: Credential) -> str | None:
        return str(credential.batch.public_id) if credential.batch_id else None


# `CredentialSerializer(credential).data` with the serializer's fields built once per process
# (core.representation): the hot read (`GET /api/credentials/{id}/`) shows a row from
# `selectors.credential_detail` with it. CredentialSerializer reads nothing but the credential.
credential_representation = Representation(CredentialSerializer)


class DocumentField(serializers.JSONField):
    """A credential document: a non-empty JSON object (the serializer's `validate_document` says so)."""

    def openapi_schema(self, direction: str) -> dict:
        """Read by core.schema.AutoSchema."""
        return {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {},
            "example": {"degree": "MSc Computer Science", "holder": "Ada Example", "awarded": "2024-06-28"},
        }


class CredentialInputSerializer(serializers.Serializer):
    subject_wallet = EthereumAddressField()
    credential_type = serializers.ChoiceField(choices=[])
    document = DocumentField()
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["credential_type"].choices = settings.CREDENTIAL_TYPES

    def validate_document(self, value):
        if not isinstance(value, dict) or not value:
            raise serializers.ValidationError("A credential document is a non-empty JSON object.")
        return value


class InstitutionByAddressMixin:
    """`institution` may be given in any valid address spelling."""

    def to_internal_value(self, data):
        if isinstance(data, dict) and isinstance(data.get("institution"), str):
            from blockchain.chain.addresses import InvalidAddress, normalize_address

            with contextlib.suppress(InvalidAddress):  # left as is: "does not exist" (400)
                data = {**data, "institution": normalize_address(data["institution"])}
        return super().to_internal_value(data)


class InstitutionField(serializers.SlugRelatedField):
    """An institution named by its address (in any valid spelling, see InstitutionByAddressMixin)."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("slug_field", "address")
        kwargs.setdefault("queryset", Institution.objects.all())
        super().__init__(**kwargs)

    def openapi_schema(self, direction: str) -> dict:
        """Read by core.schema.AutoSchema: an address; one that names no institution is 400
        `does_not_exist`."""
        schema = {key: value for key, value in address_schema().items() if key != "type"}
        return {**schema, "description": "the institution's address (GET /api/institutions/)"}


class IssueCredentialSerializer(InstitutionByAddressMixin, CredentialInputSerializer):
    institution = InstitutionField()


class BatchIssueSerializer(InstitutionByAddressMixin, serializers.Serializer):
    institution = InstitutionField()
    credentials = CredentialInputSerializer(many=True, min_length=1, max_length=1000)


class CredentialBatchSerializer(serializers.ModelSerializer):
    batch_id = serializers.UUIDField(source="public_id", read_only=True)
    institution = serializers.SlugRelatedField(slug_field="address", read_only=True)
    credential_ids = serializers.SerializerMethodField(
        help_text="the batch's credentials (GET /api/credentials/{id}/), in the order given"
    )
    chain = ChainStatusField()

    class Meta:
        model = CredentialBatch
        fields = [
            "batch_id",
            "institution",
            "count",
            "merkle_root",
            "status",
            "onchain_batch_id",
            "anchored_at",
            "last_chain_error",
            "credential_ids",
            "chain",
        ]
        read_only_fields = fields

    def get_credential_ids(self, batch: CredentialBatch) -> list[int]:
        return batch_credential_ids(batch)


class InstitutionMemberSerializer(serializers.ModelSerializer):
    """A member of an institution, as operators manage them."""

    class Meta:
        model = User
        fields = ["id", "username", "role"]
        read_only_fields = fields


class AddInstitutionMemberSerializer(serializers.Serializer):
    """Who to add: `user_id` or `username` (one of them)."""

    user_id = serializers.IntegerField(required=False, min_value=1)
    username = serializers.CharField(required=False, max_length=150)

    def validate(self, attrs: dict) -> dict:
        if len(attrs) != 1:
            raise serializers.ValidationError("Give one of user_id and username.", code="invalid")
        found = User.objects.filter(
            **({"pk": attrs["user_id"]} if "user_id" in attrs else {"username": attrs["username"]})
        ).first()
        if found is None:
            field = next(iter(attrs))
            raise serializers.ValidationError({field: "No such user."}, code="unknown_user")
        attrs["user"] = found
        return attrs


class RevokeSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


HASH32 = r"^0x[0-9a-fA-F]{64}$"


class BundleCredentialSerializer(serializers.Serializer):
    scheme = serializers.ChoiceField(choices=[CREDENTIAL_SCHEME])
    document = DocumentField(help_text="the credential document (a non-empty JSON object)")
    fingerprint = serializers.RegexField(HASH32)
    type = serializers.CharField(allow_null=True, max_length=200, help_text="the type's name, or null")
    type_hash = serializers.RegexField(HASH32, help_text="keccak256 of the type's name")
    subject = EthereumAddressField()
    issuer = EthereumAddressField()
    expires_at = serializers.IntegerField(
        min_value=0, max_value=2**64 - 1, help_text="unix seconds, 0: never"
    )

    def validate_document(self, value: object) -> dict:
        if not isinstance(value, dict) or not value:
            raise serializers.ValidationError("A credential document is a non-empty JSON object.")
        return value


class LeafEncodingField(serializers.ListField):
    """A batch leaf's ABI encoding: the one the vault uses (`validate` refuses any other)."""

    def openapi_schema(self, direction: str) -> dict:
        """Read by core.schema.AutoSchema."""
        return {"enum": [list(LEAF_ENCODING)], "description": f"only {list(LEAF_ENCODING)}"}


class BundleAnchorSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["single", "batch"])
    chain_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    contract = EthereumAddressField()
    tx_hash = serializers.RegexField(HASH32)
    block_number = serializers.IntegerField(min_value=0, max_value=2**63 - 1)
    credential_id = serializers.IntegerField(required=False, min_value=1, max_value=UINT256_MAX)
    root = serializers.RegexField(HASH32, required=False)
    leaf = serializers.RegexField(HASH32, required=False)
    proof = serializers.ListField(child=serializers.RegexField(HASH32), required=False, max_length=64)
    leaf_encoding = LeafEncodingField(child=serializers.CharField(), required=False)

    def validate(self, attrs: dict) -> dict:
        needed = ("credential_id",) if attrs["kind"] == "single" else ("root", "leaf", "proof")
        missing = {name: f"Required for a {attrs['kind']} anchor." for name in needed if name not in attrs}
        if missing:
            raise serializers.ValidationError(missing)
        if "leaf_encoding" in attrs and tuple(attrs["leaf_encoding"]) != LEAF_ENCODING:
            raise serializers.ValidationError({"leaf_encoding": f"Only {list(LEAF_ENCODING)} is supported."})
        return attrs


class ProofBundleSerializer(serializers.Serializer):
    """A proof bundle (docs/proof-bundles.md)."""

    format = serializers.ChoiceField(choices=[BUNDLE_FORMAT])
    credential = BundleCredentialSerializer()
    anchor = BundleAnchorSerializer()


class VerifyRequestSerializer(serializers.Serializer):
    """Anyone: `share_id`, `fingerprint` or `document`; `credential_id` or `onchain_id` together with
    the fingerprint or document. An id alone only for who may see the credential."""

    credential_id = serializers.IntegerField(required=False, min_value=1)
    onchain_id = serializers.IntegerField(required=False, min_value=1, max_value=UINT256_MAX)
    share_id = serializers.RegexField(
        SHARE_ID_PATTERN, required=False, help_text="the credential's share id (22 URL-safe characters)"
    )
    fingerprint = serializers.RegexField(r"^0x[0-9a-fA-F]{64}$", required=False)
    document = DocumentField(required=False)
    bundle = ProofBundleSerializer(
        required=False, help_text="a proof bundle, checked against the chain alone"
    )

    def validate(self, attrs):
        if "bundle" in attrs and len(attrs) > 1:
            raise serializers.ValidationError("A bundle carries everything: give it alone.")
        if not attrs:
            raise serializers.ValidationError(
                "Give share_id, fingerprint or document (or, with them, credential_id or onchain_id)."
            )
        if "document" in attrs and "fingerprint" in attrs:
            raise serializers.ValidationError("Give the document or its fingerprint, not both.")
        if sum(name in attrs for name in ("credential_id", "onchain_id", "share_id")) > 1:
            raise serializers.ValidationError("Give one of credential_id, onchain_id and share_id.")
        return attrs

    @staticmethod
    def openapi_combinations() -> dict:
        """Read by core.schema.AutoSchema: `validate`'s rules as JSON Schema (a bundle alone; else
        something, never the document and its fingerprint together, at most one id)."""
        ids = ("credential_id", "onchain_id", "share_id")
        pairs = [[a, b] for i, a in enumerate(ids) for b in ids[i + 1 :]]
        return {
            "oneOf": [
                {"required": ["bundle"], "maxProperties": 1},
                {
                    "allOf": [
                        {"not": {"required": ["bundle"]}},
                        {"minProperties": 1},
                        {"not": {"required": ["document", "fingerprint"]}},
                        {"not": {"anyOf": [{"required": pair} for pair in pairs]}},
                    ]
                },
            ]
        }


class VerificationCheckSerializer(serializers.Serializer):
    step = serializers.ChoiceField(
        choices=[
            "fingerprint",
            "contract",
            "anchored",
            "transaction",
            "not_revoked",
            "not_expired",
            "issuer_active",
        ]
    )
    ok = serializers.BooleanField(allow_null=True, help_text="null: not reached (an earlier step failed)")
    detail = serializers.CharField()


class VerificationSerializer(serializers.Serializer):
    exists = serializers.BooleanField()
    valid = serializers.BooleanField()
    revoked = serializers.BooleanField()
    expired = serializers.BooleanField()
    outcome = serializers.ChoiceField(
        choices=["valid", "not_found", "revoked", "expired", "issuer_inactive", "fingerprint_mismatch"]
    )
    fingerprint = serializers.CharField(allow_null=True)
    institution = serializers.CharField(allow_null=True)
    institution_name = serializers.CharField(allow_null=True)
    institution_active = serializers.BooleanField(allow_null=True)
    credential_id = serializers.IntegerField(allow_null=True)
    onchain_id = serializers.IntegerField(allow_null=True)
    credential_type = serializers.CharField(allow_null=True)
    subject_wallet = serializers.CharField(allow_null=True)
    issued_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    tx_hash = serializers.CharField(allow_null=True)
    block_number = serializers.IntegerField(allow_null=True)
    source = serializers.ChoiceField(choices=["cache", "chain"])
    checks = serializers.SerializerMethodField()

    @extend_schema_field(VerificationCheckSerializer(many=True))
    def get_checks(self, result) -> list[dict]:
        return checks_of(result)


# `VerificationSerializer(result).data`, fields built once (POST /api/blockchain/verify/).
verification_representation = Representation(VerificationSerializer)


class CredentialStatusRequestSerializer(serializers.Serializer):
    """`GET /api/blockchain/status/{credential_id}/`: the key from the path (a share id, or a numeric
    id), `onchain` from the query."""

    credential_id = serializers.RegexField(r"^(?:[0-9]+|[A-Za-z0-9_-]{22})$")
    onchain = serializers.BooleanField(default=False, help_text="read `credential_id` as the vault's id")

    def validate(self, attrs: dict) -> dict:
        key = attrs["credential_id"]
        if attrs["onchain"] and key.isdigit() and int(key) > UINT256_MAX:
            raise serializers.ValidationError({"credential_id": "An on-chain id is at most 2**256 - 1."})
        return attrs


class CredentialStatusSerializer(serializers.Serializer):
    exists = serializers.BooleanField()
    valid = serializers.BooleanField()
    revoked = serializers.BooleanField()
    issued_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    source = serializers.ChoiceField(choices=["cache", "chain"])
