"""ISO 4217 currencies a loan may be denominated in, with their minor units (decimal places).

Active codes of ISO 4217 (list one, 2024 edition), minus funds codes, precious metals and testing
codes. A principal may not have more decimal places than its currency's minor unit.
"""

from __future__ import annotations

_ZERO_DECIMALS = {
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV",
    "XAF", "XOF", "XPF",
}  # fmt: skip
_THREE_DECIMALS = {"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"}
_TWO_DECIMALS = {
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN",
    "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF", "CNY", "COP",
    "CRC", "CUP", "CVE", "CZK", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP",
    "GEL", "GHS", "GIP", "GMD", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IRR",
    "JMD", "KES", "KGS", "KHR", "KPW", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "MAD", "MDL",
    "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MYR", "MZN", "NAD", "NGN",
    "NIO", "NOK", "NPR", "NZD", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "QAR", "RON", "RSD", "RUB",
    "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP",
    "SZL", "THB", "TJS", "TMT", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "USD", "UYU", "UZS", "VES",
    "WST", "XCD", "YER", "ZAR", "ZMW", "ZWG",
}  # fmt: skip

MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys(_TWO_DECIMALS, 2),
    **dict.fromkeys(_ZERO_DECIMALS, 0),
    **dict.fromkeys(_THREE_DECIMALS, 3),
}


class UnknownCurrency(ValueError):
    pass


def normalize_currency(code: object) -> str:
    """The upper-case ISO 4217 code, or UnknownCurrency."""
    if not isinstance(code, str) or code.upper() not in MINOR_UNITS:
        raise UnknownCurrency(f"{code!r} is not an ISO 4217 currency code this platform accepts.")
    return code.upper()


def minor_units(code: str) -> int:
    return MINOR_UNITS[normalize_currency(code)]
