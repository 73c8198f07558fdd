"""The first page's amount and time formatting (`campaign_representation`'s shortcuts) gives exactly
what CampaignSerializer's DRF fields give, for every kind of value, in any active time zone."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import timezone as django_timezone

from campaigns.serializers import _AMOUNT, _DATETIME, _amount, _datetime

AMOUNTS = [
    "1000.000000",  # what numeric(30, 6) gives: the shortcut
    "0.000000",
    "-0.000000",
    "-5.000000",
    "123456789012345678901234.123456",  # 30 digits: still the shortcut
    "0E-6",
    "1E-6",
    "1.5",  # other exponents: DRF's quantize
    "100",
    "2.0000005",  # rounds (half-even) to six places
    "7.1234565",
]


@pytest.mark.parametrize("text", AMOUNTS)
def test_an_amount_is_formatted_as_drf_formats_it(text):
    value = Decimal(text)
    assert _amount(value) == _AMOUNT.to_representation(value)


def test_an_amount_drf_refuses_is_refused_the_same_way():
    too_long = Decimal("1234567890123456789012345.123456")  # 31 digits: beyond max_digits
    with pytest.raises(Exception) as drf:
        _AMOUNT.to_representation(too_long)
    with pytest.raises(type(drf.value)):
        _amount(too_long)
    assert _amount(None) is None


MOMENTS = [
    datetime(2026, 12, 6, 23, 5, 1, 123456, tzinfo=UTC),
    datetime(2026, 12, 6, 23, 5, 1, tzinfo=UTC),
    datetime(2026, 6, 1, 0, 0, tzinfo=zoneinfo.ZoneInfo("America/New_York")),
    datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    datetime(2026, 12, 6, 23, 5, 1),  # naive: DRF makes it aware
]


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris", "Asia/Kolkata"])
@pytest.mark.parametrize("moment", MOMENTS, ids=str)
def test_a_time_is_formatted_as_drf_formats_it_in_the_active_zone(moment, zone):
    with django_timezone.override(zoneinfo.ZoneInfo(zone)):
        current = django_timezone.get_current_timezone()
        assert _datetime(moment, current) == _DATETIME.to_representation(moment)
    assert _datetime(None, current) is None


def test_another_output_format_is_drfs():
    moment = MOMENTS[0]
    drf_settings = {"DATETIME_FORMAT": "%Y-%m-%d %H:%M"}
    with override_settings(REST_FRAMEWORK=drf_settings):
        zone = django_timezone.get_current_timezone()
        assert _datetime(moment, zone) == "2026-12-06 23:05" == _DATETIME.to_representation(moment)
