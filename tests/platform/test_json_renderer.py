"""The API's JSON renderer (`core.renderers.JSONRenderer`): DRF's bytes, encoded by orjson, and DRF's
own renderer for whatever orjson does not encode as DRF would."""

from __future__ import annotations

import datetime
import decimal
import enum
import ipaddress
import json
import math
import uuid

import orjson
import pytest
from django.db import models
from django.utils.translation import gettext_lazy
from rest_framework import renderers
from rest_framework.test import APIClient
from rest_framework.utils.serializer_helpers import ReturnDict, ReturnList

from core import renderers as ours
from core.renderers import JSONRenderer


class Colour(models.TextChoices):
    RED = "red", "Red"


class Level(enum.IntEnum):
    HIGH = 3


UTC = datetime.UTC
PAYLOAD = {
    "text": "plain ascii",
    "unicode": "Zürich — 東京 🚀",
    "separators": "line\u2028paragraph\u2029end",
    "escapes": 'quote " backslash \\ tab \t newline \n nul \x00 del \x7f',
    "numbers": [0, -1, 2**63 - 1, -(2**63), 1.5, 0.1, 100.0, 123456789.125, 1e16, 5e-324],
    "flags": [True, False, None],
    "tuple": (1, "two"),
    "aware": datetime.datetime(2026, 12, 7, 4, 8, 44, 123456, tzinfo=UTC),
    "whole_second": datetime.datetime(2026, 12, 7, 4, 8, 44, tzinfo=UTC),
    "offset": datetime.datetime(2026, 6, 1, 12, tzinfo=datetime.timezone(datetime.timedelta(hours=5.5))),
    "naive": datetime.datetime(2026, 1, 2, 3, 4, 5),
    "date": datetime.date(2026, 12, 7),
    "time": datetime.time(4, 8, 44, 5),
    "duration": datetime.timedelta(hours=1, microseconds=5),
    "decimal": decimal.Decimal("12.500000"),
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "ip": ipaddress.ip_address("192.0.2.1"),
    "lazy": gettext_lazy("This field is required."),
    "bytes": b"raw",
    "choice": Colour.RED,
    "level": Level.HIGH,
    "returned": ReturnDict({"b": 1, "a": [ReturnList([1, 2], serializer=None)]}, serializer=None),
    "nested": {"deep": [{"k": [{}, []]}]},
}


def _nested(depth: int) -> dict:
    value: list = []
    for _ in range(depth):
        value = [value]
    return {"deep": value}


def _drf(data, media_type=None, context=None) -> bytes:
    return renderers.JSONRenderer().render(data, media_type, context)


@pytest.mark.django_db
def test_the_api_renders_with_it():
    response = APIClient().get("/api/campaigns/")
    assert response.status_code == 200
    assert type(response.accepted_renderer) is JSONRenderer


def test_every_kind_of_value_renders_as_drf_renders_it():
    assert JSONRenderer().render(PAYLOAD) == _drf(PAYLOAD)


def test_it_encodes_with_orjson(monkeypatch):
    calls = []
    real = orjson.dumps
    monkeypatch.setattr(ours.orjson, "dumps", lambda *a, **k: calls.append(1) or real(*a, **k))
    JSONRenderer().render({"a": 1})
    assert calls == [1]


def test_u2028_and_u2029_are_escaped_as_drf_does():
    rendered = JSONRenderer().render({"s": "a\u2028b\u2029c"})
    assert rendered == b'{"s":"a\\u2028b\\u2029c"}' == _drf({"s": "a\u2028b\u2029c"})


@pytest.mark.parametrize(
    "data",
    [
        {"big": 2**64},  # beyond orjson's integers
        {"uint256": 2**256 - 1},
        {1: "int key"},  # orjson takes string keys only
        _nested(300),  # deeper than orjson goes
    ],
    ids=["int-beyond-64-bits", "uint256", "int-key", "nesting-beyond-orjson"],
)
def test_what_orjson_refuses_drf_renders(data):
    with pytest.raises(orjson.JSONEncodeError):
        orjson.dumps(data)
    assert JSONRenderer().render(data) == _drf(data)


@pytest.mark.parametrize(
    "data, error",
    [
        ({"t": datetime.time(1, 2, tzinfo=UTC)}, ValueError),  # DRF: no time-zone-aware times
        ({"o": object()}, TypeError),
        ({"s": "\ud800"}, UnicodeEncodeError),  # a lone surrogate
    ],
)
def test_what_drf_refuses_is_refused_with_drfs_error(data, error):
    with pytest.raises(error):
        _drf(data)
    with pytest.raises(error):
        JSONRenderer().render(data)


def test_an_indent_asked_for_is_drfs_rendering():
    media = "application/json; indent=4"
    assert JSONRenderer().render(PAYLOAD, media) == _drf(PAYLOAD, media)
    assert b"\n    " in JSONRenderer().render({"a": 1}, media)


def test_other_settings_are_drfs_rendering(monkeypatch):
    for name, value in (("ensure_ascii", True), ("compact", False), ("strict", False)):
        renderer = JSONRenderer()
        monkeypatch.setattr(renderer, name, value)
        expected = renderers.JSONRenderer()
        monkeypatch.setattr(expected, name, value)
        assert renderer.render(PAYLOAD) == expected.render(PAYLOAD), name


def test_nothing_renders_as_nothing():
    assert JSONRenderer().render(None) == b""


def test_a_small_float_is_the_same_number_in_orjsons_spelling():
    """A documented difference (core/renderers.py): the same value, in another exponent form."""
    data = {"x": 1e-7, "y": 2.5e-5}
    assert _drf(data) == b'{"x":1e-07,"y":2.5e-05}'
    assert JSONRenderer().render(data) == b'{"x":1e-7,"y":0.000025}'
    assert json.loads(JSONRenderer().render(data)) == json.loads(_drf(data)) == data


def test_a_non_finite_float_is_null_not_an_error():
    """A documented difference (core/renderers.py): DRF refuses it under STRICT_JSON."""
    with pytest.raises(ValueError):
        _drf({"x": math.nan})
    assert JSONRenderer().render({"x": math.nan, "y": math.inf}) == b'{"x":null,"y":null}'
