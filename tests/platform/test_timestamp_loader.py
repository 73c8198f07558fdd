"""Timestamps are read by psycopg's own (compiled) loader (`core.postgresql.base.TimestamptzLoader`),
with what Django's loader gives: the same instant, the same tzinfo object, the same refusals."""

from __future__ import annotations

import datetime
import zoneinfo

import psycopg
import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import BaseTzLoader
from psycopg.pq import Format

from core.postgresql.base import TimestamptzLoader
from issuers.models import Company
from tests.support.issuance import company_body

pytestmark = pytest.mark.django_db

TIMESTAMPTZ = psycopg.adapters.types["timestamptz"].oid
SAMPLES = [
    b"2026-12-07 04:08:44.123456+00",
    b"2026-12-07 04:08:44+00",
    b"2026-03-29 01:59:59.999999+00",
    b"2000-02-29 23:00:00.5+00",
    b"0001-01-01 00:00:00+00",
    b"9999-12-31 23:59:59.999999+00",
    b"2026-06-01 12:00:00+05:30",
    b"1969-12-31 23:59:59.000001-08",
]


def _djangos(zone) -> BaseTzLoader:
    loader = type("Django", (BaseTzLoader,), {"timezone": zone})
    return loader(TIMESTAMPTZ, connection.connection)


def _ours(zone) -> TimestamptzLoader:
    loader = type("Ours", (TimestamptzLoader,), {"timezone": zone})
    return loader(TIMESTAMPTZ, connection.connection)


def test_every_connection_reads_timestamps_with_the_compiled_loader():
    connection.ensure_connection()
    loader = connection.connection.adapters.get_loader(TIMESTAMPTZ, Format.TEXT)
    assert issubclass(loader, TimestamptzLoader)
    assert loader.timezone is connection.timezone  # Django's create_cursor compares it
    instance = loader(TIMESTAMPTZ, connection.connection)
    compiled = psycopg.adapters.get_loader(TIMESTAMPTZ, Format.TEXT)
    assert instance._parse.__self__.__class__ is compiled
    if psycopg.pq.__impl__ in ("binary", "c"):  # the point: not psycopg's pure-Python loader
        assert compiled.__module__ != "psycopg.types.datetime"


@pytest.mark.parametrize("zone", [datetime.UTC, zoneinfo.ZoneInfo("Europe/Berlin"), None])
def test_values_are_djangos_to_the_tzinfo_object(zone):
    connection.ensure_connection()
    djangos, ours = _djangos(zone), _ours(zone)
    for text in SAMPLES:
        expected, got = djangos.load(text), ours.load(text)
        assert got == expected, text
        assert got.tzinfo is expected.tzinfo, text
        assert (*got.timetuple()[:6], got.microsecond) == (*expected.timetuple()[:6], expected.microsecond)


@pytest.mark.parametrize("text", [b"infinity", b"-infinity", b"not a time"])
def test_what_django_refuses_is_refused(text):
    connection.ensure_connection()
    with pytest.raises(psycopg.DataError):
        _djangos(datetime.UTC).load(text)
    with pytest.raises(psycopg.DataError):
        _ours(datetime.UTC).load(text)


def test_the_orm_round_trips_a_timestamp(django_user_model):
    owner = django_user_model.objects.create_user(username="ts-owner", password="x", role="issuer")
    company = Company.objects.create(owner=owner, **company_body(legal_name="Timestamp AG"))
    written = datetime.datetime(2026, 12, 7, 4, 8, 44, 123456, tzinfo=datetime.UTC)
    Company.objects.filter(pk=company.pk).update(created_at=written)
    read = Company.objects.values_list("created_at", flat=True).get(pk=company.pk)
    assert read == written
    assert read.tzinfo is datetime.UTC
