"""RFC 8785 (JSON Canonicalization Scheme) as the RFC writes it, for every hash the platform anchors.

The `rfc8785` library refuses Python ints beyond ±(2**53 − 1), but JSON has no integers: a number is
an IEEE-754 double (RFC 8785 §3.2.2.3, I-JSON), so `9007199254740992` or `295147905179352830000`
(Appendix B) are ordinary numbers every implementation canonicalises. Such an integer is taken as its
nearest double when the canonical text still denotes exactly the number that was sent; when it would
not (`9007199254740993` would silently become `…992`), the document is refused rather than hashed
as something its author did not write.
"""

from __future__ import annotations

from decimal import Decimal

import rfc8785

SAFE_INTEGER = 2**53 - 1


class NotCanonicalizable(ValueError):
    """The value has no RFC 8785 form that keeps its meaning; the message says which value and why."""


def _as_number(value: int) -> int | float:
    if -SAFE_INTEGER <= value <= SAFE_INTEGER:
        return value
    try:
        double = float(value)
    except OverflowError:
        raise NotCanonicalizable(
            f"the number {value} is beyond the range of a JSON number (IEEE-754)"
        ) from None
    if Decimal(rfc8785.dumps(double).decode()) != Decimal(value):
        raise NotCanonicalizable(
            f"the number {value} is not exactly representable as a JSON number (IEEE-754 double): "
            f"it would canonicalise as {rfc8785.dumps(double).decode()}; send it as a string"
        )
    return double


def _numbers_as_doubles(value: object) -> object:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return _as_number(value)
    if isinstance(value, dict):
        return {key: _numbers_as_doubles(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_numbers_as_doubles(item) for item in value]
    return value


def canonical_json(value: object) -> bytes:
    """The RFC 8785 bytes of `value` (parsed JSON: dict, list, str, int, float, bool, None).
    Raises NotCanonicalizable (a ValueError) for what has no canonical form: NaN, infinities, a
    number no double represents exactly, a non-string key, a lone surrogate."""
    try:
        return rfc8785.dumps(_numbers_as_doubles(value))
    except rfc8785.CanonicalizationError as exc:
        # Our own words: the library's text names Python types and may change between versions.
        raise NotCanonicalizable(_why(exc)) from None


def _why(error: rfc8785.CanonicalizationError) -> str:
    if isinstance(error, rfc8785.FloatDomainError):
        return "a number is NaN or infinite, which a JSON number cannot be"
    if isinstance(error, rfc8785.IntegerDomainError):
        return "a number is beyond the range of a JSON number (IEEE-754)"
    text = str(error)
    if "UTF-8" in text:
        return "a string contains a code point UTF-8 cannot encode (a lone surrogate)"
    if "keys must be strings" in text:
        return "an object key is not a string"
    return "a value is not JSON (an object, array, string, number, true, false or null)"
