"""Calendar months for the monthly reports (`--month YYYY-MM`)."""

from __future__ import annotations

import re
from datetime import date


def parse_month(text: str) -> date:
    """The first day of `YYYY-MM`; ValueError otherwise."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", text)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ValueError(f"a month is YYYY-MM, not {text!r}")
    return date(int(match.group(1)), int(match.group(2)), 1)


def month_bounds(day: date) -> tuple[date, date]:
    """[first day of the month of `day`, first day of the next month)."""
    start = day.replace(day=1)
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start, end
