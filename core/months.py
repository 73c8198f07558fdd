"""Calendar months for the monthly reports (`--month YYYY-MM`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import TextIO

from django.core.management.base import BaseCommand, CommandError


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


class MonthlyReportCommand(BaseCommand):
    """A management command writing one month's CSV (`--month YYYY-MM [--output FILE]`)."""

    def add_arguments(self, parser) -> None:
        parser.add_argument("--month", required=True, metavar="YYYY-MM")
        parser.add_argument("--output", metavar="FILE", help="write here instead of stdout")

    @contextmanager
    def month_csv(self, *, month: str, output: str | None) -> Iterator[tuple[date, TextIO]]:
        """The month's first day and the stream to write to (closed afterwards if it is a file)."""
        try:
            first_day = parse_month(month)
        except ValueError:
            raise CommandError(f"--month must be YYYY-MM, not {month!r}") from None
        if not output:
            yield first_day, self.stdout
            return
        with open(output, "w", newline="", encoding="utf-8") as stream:
            yield first_day, stream
