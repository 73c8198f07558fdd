"""Ethereum addresses: one validation rule for the whole platform (EIP-55 everywhere)."""

from __future__ import annotations

import functools
import re

from eth_utils import is_checksum_address, to_checksum_address

HEX_ADDRESS_PATTERN = r"^0x[0-9a-fA-F]{40}$"
_HEX_ADDRESS = re.compile(HEX_ADDRESS_PATTERN)
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


class InvalidAddress(ValueError):
    pass


def normalize_address(value: object, *, allow_zero: bool = False) -> str:
    """Return the EIP-55 form of `value` (memoised: checksumming costs a keccak).

    All-lowercase or all-uppercase hex is accepted and checksummed; mixed case must already be a
    valid checksum (a wrong one usually means a typo).
    """
    if not isinstance(value, str) or not _HEX_ADDRESS.match(value):
        raise InvalidAddress("Enter a 0x-prefixed, 40-hex-digit Ethereum address.")
    return _normalized(value, allow_zero)


@functools.lru_cache(maxsize=65536)
def _normalized(value: str, allow_zero: bool) -> str:
    body = value[2:]
    if body != body.lower() and body != body.upper() and not is_checksum_address(value):
        raise InvalidAddress("The address has an invalid EIP-55 checksum.")
    checksummed = to_checksum_address(value)
    if not allow_zero and checksummed == ZERO_ADDRESS:
        raise InvalidAddress("The zero address is not allowed.")
    return checksummed
