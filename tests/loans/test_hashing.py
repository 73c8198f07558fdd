"""The loan hash is a pure function of the documented field set, with golden vectors."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from eth_utils import keccak

from loans.hashing import canonical_decimal, loan_document, loan_hash, repayment_hash

LOAN = {
    "loan_id": "L-1",
    "borrower_wallet": "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
    "lender_wallet": "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    "principal": "1000.50",
    "currency": "usd",
    "interest_rate_bps": 550,
    "term_months": 12,
}
# RFC 8785: keys sorted, no whitespace; values as documented in loans/hashing.py.
CANONICAL_JSON = (
    '{"borrower_wallet":"0x70997970C51812dc3A010C7d01b50e0d17dc79C8","currency":"USD",'
    '"interest_rate_bps":550,"lender_wallet":"0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",'
    '"loan_id":"L-1","principal":"1000.5","scheme":"ledgerbridge.loan.v1","term_months":12}'
)
GOLDEN_HASH = "0xfcb8ca1db278ac1a08445097b895122d7a0e06d6a429044bc39763b33278760d"


def test_golden_vector_is_keccak_of_the_canonical_json():
    assert "0x" + keccak(text=CANONICAL_JSON).hex() == GOLDEN_HASH
    assert loan_hash(**LOAN) == GOLDEN_HASH


@pytest.mark.parametrize(
    "variant",
    [
        {"principal": "1000.5"},
        {"principal": Decimal("1000.500000")},
        {"principal": "1.0005E+3"},
        {"currency": "USD"},
        {"borrower_wallet": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"},
    ],
)
def test_equivalent_spellings_hash_the_same(variant):
    assert loan_hash(**{**LOAN, **variant}) == GOLDEN_HASH


@pytest.mark.parametrize(
    "change",
    [
        {"loan_id": "L-2"},
        {"principal": "1000.51"},
        {"currency": "EUR"},
        {"interest_rate_bps": 551},
        {"term_months": 13},
        {"lender_wallet": "0x90F79bf6EB2c4f870365E785982E1f101E93b906"},
    ],
)
def test_every_hashed_field_changes_the_hash(change):
    assert loan_hash(**{**LOAN, **change}) != GOLDEN_HASH


def test_the_scheme_version_is_inside_the_hashed_object():
    assert loan_document(**LOAN)["scheme"] == "ledgerbridge.loan.v1"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", "0"),
        ("0.000", "0"),
        ("100", "100"),
        ("1E+2", "100"),
        ("0.10", "0.1"),
        ("123456789.123456789", "123456789.123456789"),
    ],
)
def test_canonical_decimal_edges(value, expected):
    assert canonical_decimal(value) == expected


@pytest.mark.parametrize("bad", ["NaN", "Infinity"])
def test_non_finite_amounts_are_refused(bad):
    with pytest.raises(ValueError):
        canonical_decimal(bad)


def test_repayment_hash_depends_on_loan_hash_and_time():
    at = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    first = repayment_hash(loan_id="L-1", loan_hash_hex=GOLDEN_HASH, repaid_at=at)
    assert first == repayment_hash(
        loan_id="L-1", loan_hash_hex=GOLDEN_HASH.upper().replace("0X", "0x"), repaid_at=at
    )
    assert first != repayment_hash(loan_id="L-1", loan_hash_hex=GOLDEN_HASH, repaid_at=at.replace(minute=1))
    expected_json = (
        '{"loan_hash":"' + GOLDEN_HASH + '","loan_id":"L-1","repaid_at":"2026-11-24T12:00:00Z",'
        '"scheme":"ledgerbridge.loan-repayment.v1"}'
    )
    assert first == "0x" + keccak(text=expected_json).hex()
