"""The one conversion between platform amounts (Decimal) and on-chain integers (base units)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.conf import settings

UINT128_MAX = 2**128 - 1


class AmountError(ValueError):
    pass


def to_base_units(
    amount: Decimal | str | int, *, decimals: int | None = None, maximum: int = UINT128_MAX
) -> int:
    """`amount` in base units (`decimals` places, default CHAIN_AMOUNT_DECIMALS). Refuses negative
    amounts, fractions of a base unit (never rounds money) and values above `maximum`."""
    places = settings.CHAIN_AMOUNT_DECIMALS if decimals is None else decimals
    try:
        value = Decimal(amount)
    except (InvalidOperation, TypeError, ValueError):
        raise AmountError(f"{amount!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise AmountError(f"{amount} is not a non-negative finite amount")
    scaled = value.scaleb(places)
    if scaled != scaled.to_integral_value():
        raise AmountError(f"{amount} has more than {places} decimal places")
    units = int(scaled)
    if units > maximum:
        raise AmountError(f"{amount} is above the largest amount the chain accepts")
    return units


def from_base_units(units: int, *, decimals: int | None = None) -> Decimal:
    places = settings.CHAIN_AMOUNT_DECIMALS if decimals is None else decimals
    return Decimal(int(units)).scaleb(-places)
