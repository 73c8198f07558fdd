"""EIP-1559 fee choice and replacement bumps, capped by CHAIN_MAX_FEE_GWEI."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from web3 import Web3

GWEI = 10**9
# geth refuses a replacement unless both fee fields rise by >= 10%; 12.5% leaves margin (DESIGN rule 4).
REPLACEMENT_BUMP_NUMERATOR, REPLACEMENT_BUMP_DENOMINATOR = 1125, 1000


class FeeCapExceeded(Exception):
    pass


@dataclass(frozen=True)
class Fees:
    max_fee_per_gas: int
    max_priority_fee_per_gas: int

    def as_tx_fields(self) -> dict[str, int]:
        return {"maxFeePerGas": self.max_fee_per_gas, "maxPriorityFeePerGas": self.max_priority_fee_per_gas}


def max_fee_cap_wei() -> int:
    return int(settings.CHAIN_MAX_FEE_GWEI * GWEI)


def suggest_fees(w3: Web3) -> Fees:
    """max fee = 2 x latest base fee + tip: survives six consecutive full blocks of base-fee growth."""
    base_fee = w3.eth.get_block("latest").get("baseFeePerGas") or 0
    try:
        tip = int(w3.eth.max_priority_fee)
    except Exception:  # nodes without eth_maxPriorityFeePerGas: a 1 gwei tip
        tip = 1 * GWEI
    tip = max(tip, 1)
    if base_fee + tip > max_fee_cap_wei():
        raise FeeCapExceeded(
            f"base fee {base_fee} wei exceeds CHAIN_MAX_FEE_GWEI={settings.CHAIN_MAX_FEE_GWEI}"
        )
    return Fees(max_fee_per_gas=min(2 * base_fee + tip, max_fee_cap_wei()), max_priority_fee_per_gas=tip)


def bumped(previous: Fees, floor: Fees | None = None) -> Fees:
    """Replacement fees: both fields at least +12.5% over `previous` (and not below `floor`)."""

    def bump(value: int) -> int:
        return -(-value * REPLACEMENT_BUMP_NUMERATOR // REPLACEMENT_BUMP_DENOMINATOR)  # ceiling

    tip = bump(previous.max_priority_fee_per_gas)
    max_fee = bump(previous.max_fee_per_gas)
    if floor is not None:
        tip, max_fee = max(tip, floor.max_priority_fee_per_gas), max(max_fee, floor.max_fee_per_gas)
    if max_fee > max_fee_cap_wei():
        raise FeeCapExceeded(f"replacement fee {max_fee} wei would exceed CHAIN_MAX_FEE_GWEI")
    return Fees(max_fee_per_gas=max_fee, max_priority_fee_per_gas=min(tip, max_fee))
