"""The investor's 12-month limit (Regulation Crowdfunding, 17 CFR 227.100(a)(2), 2021 amounts).

- Accredited investors: no limit.
- Either annual income or net worth below $124,000: the greater of $2,500 or 5% of the greater of
  the two.
- Both at least $124,000: 10% of the greater of the two.
- Never above $124,000.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

FLOOR = Decimal("2500")
THRESHOLD = Decimal("124000")
CAP = Decimal("124000")
CENT = Decimal("0.01")


def investment_limit(*, annual_income: Decimal, net_worth: Decimal, accredited: bool) -> Decimal | None:
    """The most a non-accredited investor may invest across all campaigns in 12 months (None: no limit)."""
    if accredited:
        return None
    income, worth = Decimal(annual_income), Decimal(net_worth)
    greater = max(income, worth)
    if income < THRESHOLD or worth < THRESHOLD:
        limit = max(FLOOR, greater * Decimal("0.05"))
    else:
        limit = greater * Decimal("0.10")
    return min(limit, CAP).quantize(CENT, rounding=ROUND_DOWN)
