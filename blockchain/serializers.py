"""Serializers of the chain side: the `chain` object and the outbox for operators."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from blockchain.models import ChainTransaction, TxAttempt
from blockchain.selectors import chain_summary, latest_transaction


class ChainStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=["queued", "sent", "mined", "confirmed", "failed", "replaced", "not_requested"]
    )
    tx_hash = serializers.CharField(allow_null=True)
    block_number = serializers.IntegerField(allow_null=True)
    confirmations = serializers.IntegerField(allow_null=True)
    error = serializers.DictField(allow_null=True)
    explorer_url = serializers.CharField(allow_null=True)


@extend_schema_field(ChainStatusSerializer)
class ChainStatusField(serializers.Field):
    """`chain` for a chain-backed domain row: the state of its newest outbox row (of `kind`)."""

    def __init__(self, *, kind: str | None = None, **kwargs) -> None:
        kwargs.setdefault("source", "*")
        kwargs["read_only"] = True
        self.kind = kind
        super().__init__(**kwargs)

    def to_representation(self, instance) -> dict:
        return dict(chain_summary(latest_transaction(instance, kind=self.kind)))


class TxAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = TxAttempt
        fields = [
            "tx_hash",
            "nonce",
            "gas_limit",
            "max_fee_per_gas",
            "max_priority_fee_per_gas",
            "status",
            "created_at",
            "first_broadcast_at",
            "broadcast_at",
        ]


class ChainTransactionSerializer(serializers.ModelSerializer):
    chain = serializers.SerializerMethodField()
    subject_type = serializers.SerializerMethodField()
    attempts_detail = TxAttemptSerializer(source="attempt_set", many=True, read_only=True)
    value = serializers.DecimalField(max_digits=78, decimal_places=0, coerce_to_string=True)

    class Meta:
        model = ChainTransaction
        fields = [
            "id",
            "kind",
            "status",
            "chain_id",
            "contract_name",
            "contract_address",
            "function",
            "args",
            "value",
            "subject_type",
            "object_id",
            "signer",
            "nonce",
            "gas_limit",
            "max_fee_per_gas",
            "max_priority_fee_per_gas",
            "tx_hash",
            "attempts",
            "error_code",
            "error",
            "last_error",
            "gas_used",
            "effective_gas_price",
            "block_number",
            "block_hash",
            "created_at",
            "signed_at",
            "sent_at",
            "mined_at",
            "confirmed_at",
            "failed_at",
            "chain",
            "attempts_detail",
        ]
        read_only_fields = fields

    @extend_schema_field(ChainStatusSerializer)
    def get_chain(self, obj: ChainTransaction) -> dict:
        return dict(chain_summary(obj))

    def get_subject_type(self, obj: ChainTransaction) -> str | None:
        return f"{obj.content_type.app_label}.{obj.content_type.model}" if obj.content_type_id else None


class SignerStatusSerializer(serializers.Serializer):
    address = serializers.CharField(allow_null=True)
    balance = serializers.CharField(allow_null=True, help_text="native coin, decimal string")
    balance_at = serializers.CharField(allow_null=True)
    low = serializers.BooleanField(help_text="below SIGNER_MIN_BALANCE: writes will soon stop")
    minimum = serializers.CharField()


class PoolSignerStatusSerializer(serializers.Serializer):
    address = serializers.CharField()
    balance = serializers.CharField(help_text="native coin, decimal string (last measured)")
    balance_at = serializers.CharField()
    low = serializers.BooleanField(help_text="below SIGNER_MIN_BALANCE: this lane will soon stop")
    active = serializers.BooleanField(help_text="its lane takes new intents (false once retired)")
    in_flight = serializers.IntegerField(help_text="its intents queued, signed, sent or mined")


class OutboxStatusSerializer(serializers.Serializer):
    queued = serializers.IntegerField()
    sent = serializers.IntegerField()
    failed = serializers.IntegerField()
    oldest_queued_at = serializers.DateTimeField(allow_null=True)


class ReconcileSummarySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    checked = serializers.IntegerField()
    drift_count = serializers.IntegerField()
    drift = serializers.ListField(child=serializers.DictField())


class SyncStatusSerializer(serializers.Serializer):
    chain_id = serializers.IntegerField()
    head = serializers.IntegerField(allow_null=True)
    indexed_block = serializers.IntegerField(allow_null=True)
    lag_blocks = serializers.IntegerField(allow_null=True)
    last_indexed_at = serializers.DateTimeField(allow_null=True)
    reorgs_detected = serializers.IntegerField()
    indexer_error = serializers.CharField(
        allow_blank=True, help_text="why the last indexer run failed, if it did"
    )
    signer = SignerStatusSerializer()
    signers = PoolSignerStatusSerializer(many=True, help_text="every signer of the pool, the primary first")
    outbox = OutboxStatusSerializer()
    last_reconcile = ReconcileSummarySerializer(allow_null=True)
