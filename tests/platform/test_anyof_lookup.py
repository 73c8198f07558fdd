"""`field__anyof=[...]` (core/lookups.py) selects exactly what `field__in` does, with one array
parameter on PostgreSQL instead of one placeholder per value."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from accounts.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def users(make_user):
    return [make_user("investor")[0] for _ in range(5)]


def test_it_selects_what_in_selects_for_text_and_integers(users):
    names = [u.username for u in users[:3]] + ["nobody"]
    ids = [users[1].pk, users[4].pk, 10**12]
    for field, values in (("username", names), ("pk", ids)):
        expected = set(User.objects.filter(**{f"{field}__in": values}).values_list("pk", flat=True))
        got = set(User.objects.filter(**{f"{field}__anyof": values}).values_list("pk", flat=True))
        assert got == expected and got


def test_one_parameter_whatever_the_number_of_values(users):
    values = [f"user-{i}" for i in range(5000)] + [users[0].username]
    with CaptureQueriesContext(connection) as queries:
        assert list(User.objects.filter(username__anyof=values).values_list("pk", flat=True)) == [users[0].pk]
    (sql,) = [q["sql"] for q in queries.captured_queries]
    assert "= ANY(" in sql and "IN (" not in sql


def test_an_empty_list_matches_nothing_even_inside_an_or(users):
    assert not User.objects.filter(username__anyof=[]).exists()
    either = User.objects.filter(Q(username__anyof=[]) | Q(pk__anyof=[users[2].pk]))
    assert list(either.values_list("pk", flat=True)) == [users[2].pk]
    assert not User.objects.filter(username__anyof=[None]).exists()
