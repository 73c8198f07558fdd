"""The per-request database health check (`core.postgresql`): a healthy connection is checked without
a round trip, a connection the server ended is replaced before the request uses it, and a connection
with anything unread falls back to Django's `SELECT 1`."""

from __future__ import annotations

import select
import tempfile

import psycopg
import pytest
from django.db import connection
from django.db.backends.postgresql import base as django_postgresql

from accounts.models import User

pytestmark = pytest.mark.django_db(transaction=True)


def _new_request() -> None:
    # What request_started does to every connection (close_old_connections): the next first use of
    # the connection in the request runs the health check.
    connection.close_if_unusable_or_obsolete()


def _wire_trace(action) -> bytes:
    """The protocol messages libpq exchanges while `action` runs."""
    with tempfile.TemporaryFile() as trace:
        connection.connection.pgconn.trace(trace.fileno())
        try:
            action()
        finally:
            connection.connection.pgconn.untrace()
        trace.seek(0)
        return trace.read()


def _other_session() -> psycopg.Connection:
    settings = connection.settings_dict
    return psycopg.connect(
        dbname=settings["NAME"],
        user=settings["USER"] or None,
        password=settings["PASSWORD"] or None,
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        autocommit=True,
    )


def _wait_readable(timeout_s: float = 30) -> None:
    poller = select.poll()
    poller.register(connection.connection.pgconn.socket, select.POLLIN)
    assert poller.poll(int(timeout_s * 1000)), "the server never ended the connection"


def test_the_setting_selects_the_backend():
    assert connection.settings_dict["ENGINE"] == "core.postgresql"
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True


def test_a_healthy_connection_is_checked_without_a_round_trip():
    connection.ensure_connection()
    _new_request()
    traced = _wire_trace(connection.close_if_health_check_failed)
    assert traced == b""
    assert connection.health_check_done and connection.connection is not None
    # The wire trace would show the check if it were sent: Django's own check is one Query message.
    wrapper = connection._connections[connection._alias]  # the wrapper behind django.db.connection
    assert b"SELECT 1" in _wire_trace(lambda: django_postgresql.DatabaseWrapper.is_usable(wrapper))


def test_a_connection_the_server_ended_is_replaced_before_the_request_uses_it():
    connection.ensure_connection()
    old_pid = connection.connection.info.backend_pid
    with _other_session() as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", [old_pid]).fetchone() == (True,)
    _wait_readable()
    _new_request()
    # The first statement of the next request runs on a new connection, without an error.
    assert User.objects.filter(username="nobody-health").count() == 0
    assert connection.connection.info.backend_pid != old_pid


def test_something_unread_falls_back_to_select_1():
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("LISTEN health_check_probe")
    try:
        with _other_session() as other:  # arrives on the idle connection, unread
            other.execute("NOTIFY health_check_probe")
        _wait_readable()
        _new_request()
        traced = _wire_trace(connection.close_if_health_check_failed)
        assert b"SELECT 1" in traced
        assert connection.connection is not None  # the fallback found it usable
    finally:
        with connection.cursor() as cursor:
            cursor.execute("UNLISTEN *")


def test_a_socket_that_cannot_be_polled_falls_back_to_select_1(monkeypatch):
    connection.ensure_connection()

    class Unpollable:
        def register(self, *args):
            raise OSError("poll unavailable")

    monkeypatch.setattr("core.postgresql.base.select.poll", Unpollable)
    _new_request()
    assert b"SELECT 1" in _wire_trace(connection.close_if_health_check_failed)
    assert connection.connection is not None
