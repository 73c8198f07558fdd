"""The Regulation Crowdfunding limit at its boundaries."""

from decimal import Decimal

import pytest

from campaigns.limits import investment_limit


@pytest.mark.parametrize(
    ("income", "worth", "expected"),
    [
        ("0", "0", "2500.00"),  # the floor
        ("50000", "40000", "2500.00"),  # 5 % of 50,000 = 2,500: still the floor
        ("50001", "0", "2500.05"),  # just above the floor
        ("123999.99", "500000", "25000.00"),  # one below the threshold: 5 % of the greater (500,000)
        ("124000", "124000", "12400.00"),  # both at the threshold: 10 %
        ("124000", "123999.99", "6200.00"),  # one just below: back to 5 %
        ("2000000", "1240000", "124000.00"),  # 10 % of 2,000,000 = 200,000: capped
        ("1240000", "124000", "124000.00"),  # exactly at the cap
        ("10000000", "10", "124000.00"),  # 5 % of 10,000,000 = 500,000: capped too
    ],
)
def test_limit_formula(income, worth, expected):
    assert investment_limit(
        annual_income=Decimal(income), net_worth=Decimal(worth), accredited=False
    ) == Decimal(expected)


def test_accredited_investors_have_no_limit():
    assert investment_limit(annual_income=Decimal(0), net_worth=Decimal(0), accredited=True) is None
