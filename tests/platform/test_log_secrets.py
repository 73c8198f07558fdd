"""After the whole run: no log line of any platform process contains the signer key or a password.

Runs last (marker `last`), in each of `make test`'s shards (devtools/run_tests.py). It reads what this
session appended to its JSON log file (the test process, Celery workers and gunicorn all write there)
and the output files of the workers and the poller, its own and the other shard's. The anvil nodes'
logs are not ours: anvil prints its well-known dev keys in its banner.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from tests.conftest import LOG_DIR, SECRETS_USED, SESSION_LOG_START

pytestmark = [pytest.mark.last, pytest.mark.django_db]

WRONG_PASSWORD = "not-my-password-31337"


def secret_spellings() -> set[str]:
    key = settings.SIGNER_PRIVATE_KEY.reveal().removeprefix("0x")
    secrets = {key.lower(), key.upper()}
    if settings.SIGNER_PASSWORD:
        secrets.add(settings.SIGNER_PASSWORD.reveal())
    return secrets | {p for p in SECRETS_USED | {WRONG_PASSWORD} if len(p) >= 6}


def this_runs_logs() -> dict[str, str]:
    logs: dict[str, str] = {}
    log_file = Path(os.environ["LOG_FILE"])
    with log_file.open(errors="replace") as handle:
        handle.seek(SESSION_LOG_START["offset"])
        logs[log_file.name] = handle.read()
    for path in LOG_DIR.glob("*.log"):
        if (
            "anvil" in path.name
            or path.name == log_file.name
            or path.stat().st_mtime < SESSION_LOG_START["time"]
        ):
            continue
        logs[path.name] = path.read_text(errors="replace")
    return logs


def test_no_log_line_of_the_run_contains_the_signer_key_or_a_password(make_user):
    # Make sure the risky paths ran at least once, even when this test runs alone.
    user, password = make_user("investor", password="Long-enough-passw0rd!")
    client = APIClient()
    assert (
        client.post("/api/auth/token/", {"username": user.username, "password": WRONG_PASSWORD}).status_code
        == 401
    )
    assert (
        client.post("/api/auth/token/", {"username": user.username, "password": password}).status_code == 200
    )
    weak = client.post(
        "/api/auth/register/",
        {"username": "weak", "email": "w@example.test", "password": "short1", "role": "investor"},
    )
    assert weak.status_code == 400

    logs = this_runs_logs()
    written = logs[Path(os.environ["LOG_FILE"]).name]
    assert written.count("\n") > 0, "the run wrote no log lines: the check would prove nothing"
    secrets = secret_spellings()
    assert password in secrets and WRONG_PASSWORD in secrets
    leaks = [
        (name, number, secret[:4] + "…")
        for name, text in logs.items()
        for number, line in enumerate(text.splitlines(), 1)
        for secret in secrets
        if secret in line
    ]
    assert not leaks, f"secrets in logs (file, line, secret prefix): {leaks[:20]}"
