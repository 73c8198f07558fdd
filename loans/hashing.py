"""The canonical hash of a loan record: what is anchored on chain and later verified.

keccak256 over the RFC 8785 (JCS) canonical JSON of a fixed field set, with the scheme version
inside the hashed object so the scheme can change without old anchors becoming ambiguous.

Scheme `ledgerbridge.loan.v1` hashes:
    {"scheme", "loan_id", "borrower_wallet", "lender_wallet", "principal", "currency",
     "interest_rate_bps", "term_months"}
- wallets in EIP-55 form; principal as a plain decimal string without exponent or trailing zeros
  ("1000.5", never "1000.50" or "1.0005E+3"); currency as the upper-case ISO 4217 code;
- integers as JSON numbers.
The repayment hash (`repaid_hash`) covers {"scheme", "loan_id", "loan_hash", "repaid_at"}.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from eth_utils import keccak, to_checksum_address

from core.canonical_json import canonical_json

LOAN_SCHEME = "ledgerbridge.loan.v1"
REPAYMENT_SCHEME = "ledgerbridge.loan-repayment.v1"


def canonical_decimal(value: Decimal | str) -> str:
    """One spelling per amount: no exponent, no trailing zeros, no trailing point."""
    amount = Decimal(value)
    if not amount.is_finite():
        raise ValueError("amounts must be finite")
    text = format(amount.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def loan_document(
    *,
    loan_id: str,
    borrower_wallet: str,
    lender_wallet: str,
    principal: Decimal | str,
    currency: str,
    interest_rate_bps: int,
    term_months: int,
) -> dict:
    return {
        "scheme": LOAN_SCHEME,
        "loan_id": loan_id,
        "borrower_wallet": to_checksum_address(borrower_wallet),
        "lender_wallet": to_checksum_address(lender_wallet),
        "principal": canonical_decimal(principal),
        "currency": currency.upper(),
        "interest_rate_bps": int(interest_rate_bps),
        "term_months": int(term_months),
    }


def keccak_of_json(document: dict) -> str:
    return "0x" + keccak(canonical_json(document)).hex()


def loan_hash(**fields) -> str:
    """0x-hex keccak256 of the loan's canonical document (see the module docstring)."""
    return keccak_of_json(loan_document(**fields))


def repayment_hash(*, loan_id: str, loan_hash_hex: str, repaid_at: datetime) -> str:
    return keccak_of_json(
        {
            "scheme": REPAYMENT_SCHEME,
            "loan_id": loan_id,
            "loan_hash": loan_hash_hex.lower(),
            "repaid_at": repaid_at.isoformat().replace("+00:00", "Z"),
        }
    )
