from __future__ import annotations

from rest_framework import serializers


class BalancesQuerySerializer(serializers.Serializer):
    verify = serializers.BooleanField(default=False, help_text="read the chain (and refresh the cache)")


class BalanceSerializer(serializers.Serializer):
    asset = serializers.CharField()
    symbol = serializers.CharField()
    amount = serializers.DecimalField(
        max_digits=90, decimal_places=18, coerce_to_string=True, normalize_output=True
    )
    pending_delta = serializers.DecimalField(
        max_digits=90, decimal_places=18, coerce_to_string=True, normalize_output=True
    )
    block_number = serializers.IntegerField(allow_null=True)
    stale = serializers.BooleanField()
    source = serializers.ChoiceField(choices=["cache", "chain"])
