"""Django's PostgreSQL backend (psycopg 3), with `CONN_HEALTH_CHECKS` made free for a healthy
connection.

Django checks a persistent connection before its first use in each request by running `SELECT 1`:
one more round trip on every request, about a tenth of the API's cheapest read. An idle PostgreSQL
connection receives nothing unless something happened to it: a server that shut down, restarted or
terminated the backend sends its FATAL message and closes the socket, and an idle connection can
otherwise only receive a notice, a NOTIFY or a parameter change. So when the socket has nothing to
read the connection is as alive as a `SELECT 1` would show (barring a peer that vanished without a
word, which `SELECT 1` would only find by waiting out TCP); when it has anything to read, or the
socket cannot be polled, Django's own check runs, and a dead connection is replaced before the
request uses it."""

from __future__ import annotations

import select

from django.db.backends.postgresql import base

# What asking a connection for its socket can raise when there is none to poll.
_NO_SOCKET = (OSError, ValueError, AttributeError, base.Database.Error)


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        try:
            poller = select.poll()
            poller.register(connection.pgconn.socket, select.POLLIN | select.POLLPRI)
            pending = poller.poll(0)
        except _NO_SOCKET:  # nothing to poll: ask the server
            pending = True
        return super().is_usable() if pending else True
