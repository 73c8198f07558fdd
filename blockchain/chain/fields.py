"""DRF fields for chain values."""

from __future__ import annotations

from rest_framework import serializers

from blockchain.chain.addresses import HEX_ADDRESS_PATTERN, ZERO_ADDRESS, InvalidAddress, normalize_address

# A real EIP-55 address (the EIP's own example), for the schema's examples.
EXAMPLE_ADDRESS = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
ADDRESS_DESCRIPTION = (
    "an Ethereum address: 0x and 40 hex digits, all lower-case, all upper-case or EIP-55 checksummed "
    "(mixed case must be a valid checksum); answered EIP-55 checksummed"
)


def address_schema(*, allow_zero: bool = False) -> dict:
    """The OpenAPI facets of an address that `normalize_address` accepts. `format: eth-address`
    names the checksum rule a pattern cannot state (tools that do not know it read the pattern)."""
    schema = {
        "type": "string",
        "format": "eth-address",
        "pattern": HEX_ADDRESS_PATTERN,
        "minLength": 42,
        "maxLength": 42,
        "example": EXAMPLE_ADDRESS,
        "description": ADDRESS_DESCRIPTION + ("" if allow_zero else "; not the zero address"),
    }
    if not allow_zero:
        schema["not"] = {"enum": [ZERO_ADDRESS]}
    return schema


class EthereumAddressField(serializers.CharField):
    """Accepts any valid hex address (not the zero address), returns its EIP-55 checksummed form."""

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

    def openapi_schema(self, direction: str) -> dict:
        """Read by core.schema.AutoSchema."""
        if direction != "request":
            return {"pattern": HEX_ADDRESS_PATTERN, "example": EXAMPLE_ADDRESS}
        return {key: value for key, value in address_schema().items() if key != "type"}
