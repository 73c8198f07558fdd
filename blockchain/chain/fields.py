"""DRF fields for chain values."""

from __future__ import annotations

from rest_framework import serializers

from blockchain.chain.addresses import InvalidAddress, normalize_address


class EthereumAddressField(serializers.CharField):
    """Accepts any valid hex address, returns its EIP-55 checksummed form."""

    default_error_messages = {"invalid_address": "{message}"}

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("max_length", 42)
        kwargs.setdefault("min_length", 42)
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> str:
        value = super().to_internal_value(data)
        try:
            return normalize_address(value)
        except InvalidAddress as exc:
            self.fail("invalid_address", message=str(exc))
