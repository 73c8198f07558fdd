"""Every CSV the platform writes neutralises formula cells (core.spreadsheet), numbers excepted."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from core.spreadsheet import SafeDictWriter, SafeWriter, safe_cell


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1-1", "@SUM(A1)", "\t=1", "\r=1"])
def test_text_that_could_start_a_formula_is_quoted(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", [0, -5, Decimal("-1.50"), 2.5, True])
def test_numbers_stay_numbers(value):
    assert safe_cell(value) is value


def test_plain_text_and_none():
    assert safe_cell("Open campaign") == "Open campaign" and safe_cell(None) == ""


def test_both_writers_neutralise_every_cell():
    out = io.StringIO()
    SafeWriter(out).writerow(["=cmd", 7, "ok"])
    writer = SafeDictWriter(out, fieldnames=["a", "b"])
    writer.writerow({"a": "-2+3", "b": Decimal("-2")})
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [["'=cmd", "7", "ok"], ["'-2+3", "-2"]]
