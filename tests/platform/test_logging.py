"""Structured logs: JSON lines carrying the request id (from the proxy or made here) and, in Celery
workers, the task id and the id of the request that queued the task; secrets are redacted."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from tests.support.loans import make_loan

LOG_FILE = Path(os.environ["LOG_FILE"])


class LogTail:
    """The JSON lines appended to the run's log file since this object was made."""

    def __init__(self) -> None:
        self.offset = LOG_FILE.stat().st_size if LOG_FILE.exists() else 0

    def lines(self) -> list[dict]:
        with LOG_FILE.open() as handle:
            handle.seek(self.offset)
            return [json.loads(line) for line in handle if line.strip()]


def test_request_id_is_echoed_and_logged_with_the_request(db):
    tail = LogTail()
    client = APIClient()
    response = client.get("/api/no-such-endpoint/", HTTP_X_REQUEST_ID="edge-4f2a9c1d")
    assert response.status_code == 404
    assert response["X-Request-ID"] == "edge-4f2a9c1d"
    lines = [line for line in tail.lines() if line["request_id"] == "edge-4f2a9c1d"]
    assert lines, "the 404 warning should carry the request id"
    assert {"time", "level", "logger", "message", "task_id"} <= set(lines[0])
    assert lines[0]["logger"] == "django.request" and lines[0]["level"] == "WARNING"


def test_an_unusable_incoming_request_id_is_replaced(db):
    response = APIClient().get("/api/campaigns/", HTTP_X_REQUEST_ID="bad id\nwith newline")
    generated = response["X-Request-ID"]
    assert generated != "bad id\nwith newline" and len(generated) == 32
    assert APIClient().get("/api/campaigns/")["X-Request-ID"] != generated  # one per request


def test_secrets_are_redacted_from_messages_and_tracebacks():
    tail = LogTail()
    key = settings.SIGNER_PRIVATE_KEY.reveal()
    logger = logging.getLogger("tests.redaction")
    logger.error("careless: key=%s bare=%s", key, key.removeprefix("0x").upper())
    try:
        raise ValueError(f"signing failed for {key}")
    except ValueError:
        logger.exception("with traceback")
    written = LOG_FILE.read_text()[tail.offset :]
    assert key.removeprefix("0x").lower() not in written.lower()
    lines = [line for line in tail.lines() if line["logger"] == "tests.redaction"]
    assert lines[0]["message"] == "careless: key=[redacted] bare=[redacted]"
    assert "signing failed for [redacted]" in lines[1]["exc_info"]


@pytest.mark.chain
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_lines_carry_the_task_id_and_the_queuing_request_id(
    contracts, celery_worker_process, make_user
):
    operator, _ = make_user("operator")
    client = APIClient()
    client.force_authenticate(operator)
    loan = make_loan()
    tail = LogTail()
    response = client.post(f"/api/loans/{loan.loan_id}/approve/", HTTP_X_REQUEST_ID="approve-7c1e55aa")
    assert response.status_code == 202
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        task_lines = [
            line for line in tail.lines() if line["request_id"] == "approve-7c1e55aa" and line["task_id"]
        ]
        if task_lines:
            break
        time.sleep(0.2)
    assert task_lines, "the send task queued by the request should log with both ids"
    assert task_lines[0]["task_name"].startswith("blockchain.outbox.tasks.")
    assert task_lines[0]["process"] != os.getpid()  # written by the worker process
