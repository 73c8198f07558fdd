"""A partner's webhook endpoint on loopback: records every POST and answers as a test tells it."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() when it arrived


class WebhookReceiver:
    """`answers` is a queue of status codes used in turn (then `default_status`)."""

    def __init__(self, *, default_status: int = 204) -> None:
        self.received: list[Received] = []
        self.answers: deque[int] = deque()
        self.default_status = default_status
        self.reply_body = b""
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.received.append(
                        Received(
                            self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.time()
                        )
                    )
                    status = receiver.answers.popleft() if receiver.answers else receiver.default_status
                    reply = receiver.reply_body
                    receiver._arrived.notify_all()  # wake wait_for at once, not at its timeout
                self.send_response(status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/hooks") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, *, timeout: float = 30.0) -> list[Received]:
        """The first `count` deliveries, as soon as they have arrived (woken by each arrival)."""
        with self._arrived:
            if self._arrived.wait_for(lambda: len(self.received) >= count, timeout=timeout):
                return list(self.received)
        raise AssertionError(f"expected {count} webhook deliveries, got {len(self.received)}")


@contextmanager
def partner_endpoint(operator, event_types: list[str]) -> Iterator[WebhookReceiver]:
    """A receiver registered (through the API, by `operator`) for `event_types`. Its `events()`
    delivers what is due in-process and answers [(type, data)] in arrival order, each signature
    verified with the independent `standardwebhooks` package."""
    from standardwebhooks import Webhook

    from webhooks import delivery

    with WebhookReceiver() as receiver:
        response = operator.post(
            "/api/webhooks/endpoints/", {"url": receiver.url(), "event_types": event_types}, format="json"
        )
        assert response.status_code == 201, response.content
        verifier = Webhook(response.json()["secret"])

        def events() -> list[tuple[str, dict]]:
            while delivery.deliver():
                pass
            payloads = [verifier.verify(got.body, got.headers) for got in list(receiver.received)]
            return [(payload["type"], payload["data"]) for payload in payloads]

        receiver.events = events
        yield receiver
