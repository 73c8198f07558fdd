"""The hot statements (`core.rows.prepared_cursor`) are planned once per connection by PostgreSQL;
the ORM's own statements are never prepared (client-side binding), so an ORM query cannot fill the
server's statement cache; and the cursor stays Django's: captured, wrapped, usable in transactions."""

from __future__ import annotations

import os

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from core.rows import prepared_cursor
from tests.support.processes import manage
from tests.support.users import jwt_client

pytestmark = pytest.mark.django_db

PROBE = "SELECT %s::int + 1 AS prepared_statement_probe"


def _prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE NOT from_sql")
        return [row[0] for row in cursor.fetchall()]


def _probe(value: int) -> int:
    with prepared_cursor(connection.alias) as cursor:
        cursor.execute(PROBE, [value])
        return cursor.fetchone()[0]


def test_a_statement_is_prepared_at_its_first_run_and_reused():
    assert _probe(1) == 2
    probes = [s for s in _prepared() if "prepared_statement_probe" in s]
    assert probes == ["SELECT $1::int + 1 AS prepared_statement_probe"]
    assert _probe(41) == 42
    assert [s for s in _prepared() if "prepared_statement_probe" in s] == probes  # the same one


def test_the_orms_statements_are_never_prepared():
    for _ in range(10):  # above any automatic threshold
        assert not User.objects.filter(username="nobody-prepared").exists()
    assert not [s for s in _prepared() if "accounts_user" in s and "nobody-prepared" in s]
    assert not [s for s in _prepared() if "accounts_user" in s]


def test_its_statements_are_captured_like_any_other():
    with CaptureQueriesContext(connection) as queries:
        _probe(5)
    assert [q["sql"] for q in queries.captured_queries] == ["SELECT 5::int + 1 AS prepared_statement_probe"]


def test_a_database_error_is_djangos():
    with pytest.raises(DatabaseError), transaction.atomic(), prepared_cursor(connection.alias) as cursor:
        cursor.execute("SELECT 1 / (%s::int - %s::int)", [1, 1])


@pytest.mark.django_db(transaction=True)
def test_a_statement_prepared_in_a_rolled_back_transaction_still_runs():
    connection.close()  # a fresh connection: nothing prepared yet
    with pytest.raises(RuntimeError), transaction.atomic():
        assert _probe(1) == 2
        raise RuntimeError("roll back")
    assert _probe(2) == 3
    with pytest.raises(DatabaseError), transaction.atomic():  # a failed transaction, then another run
        _probe(1)
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")
    assert _probe(3) == 4


def test_the_api_reads_the_user_row_by_a_prepared_statement(make_user):
    user, _ = make_user("operator")
    client = jwt_client(user)
    assert client.get("/api/auth/me/").status_code == 200
    user_reads = [s for s in _prepared() if 'FROM "accounts_user"' in s]
    assert len(user_reads) == 1 and '"password"' not in user_reads[0]


def test_without_preparation_the_same_statements_run_unprepared():
    connection.ensure_connection()
    raw = connection.connection
    threshold = raw.prepare_threshold
    raw.prepare_threshold = None  # what DB_PREPARED_STATEMENTS=0 gives the connection
    try:
        assert _probe(10) == 11
        assert not [s for s in _prepared() if "prepared_statement_probe" in s]
    finally:
        raw.prepare_threshold = threshold


SHOW_SETTINGS = (
    "from django.conf import settings; d = settings.DATABASES['default']; "
    "print(d['ENGINE'], d.get('OPTIONS', {}).get('prepare_threshold'))"
)


@pytest.mark.parametrize(
    "url, value, expected",
    [
        ("postgres:///any", "", "core.postgresql 0"),
        ("postgres:///any", "1", "core.postgresql 0"),
        ("postgres:///any", "0", "core.postgresql None"),
        ("sqlite:////tmp/any.sqlite3", "", "django.db.backends.sqlite3 None"),
    ],
)
def test_the_settings_prepare_on_postgresql_unless_turned_off(url, value, expected):
    env = {k: v for k, v in os.environ.items() if k != "DB_PREPARED_STATEMENTS"}
    env["DATABASE_URL"] = url
    if value:
        env["DB_PREPARED_STATEMENTS"] = value
    result = manage("shell", "-c", SHOW_SETTINGS, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == expected
