"""`make run`'s terminal does not print clients' 4xx answers (django.request "Conflict", "Not
Found", ...); its log file keeps them, and server errors still reach the terminal."""

from __future__ import annotations

import os

from devtools.run_platform import quiet_logging
from tests.support.processes import manage

EMIT = (
    "import logging; log = logging.getLogger('django.request'); "
    "log.warning('Conflict: /api/campaigns/1/close/', extra={'status_code': 409}); "
    "log.warning('Not Found: /api/nope/', extra={'status_code': 404}); "
    "log.error('Internal Server Error: /api/boom/', extra={'status_code': 500})"
)


def test_make_run_turns_client_errors_off_on_the_console(tmp_path):
    env: dict[str, str] = {}
    quiet_logging(env, tmp_path)
    assert env["LOG_CONSOLE_CLIENT_ERRORS"] == "false" and env["LOG_CONSOLE_LEVEL"] == "WARNING"


def test_the_console_drops_4xx_request_lines_and_the_file_keeps_them(tmp_path):
    log_file = tmp_path / "platform.log"
    env = {
        **os.environ,
        "DJANGO_ENV": "test",
        "LOG_FILE": str(log_file),
        "LOG_CONSOLE_LEVEL": "WARNING",
        "LOG_CONSOLE_CLIENT_ERRORS": "false",
    }
    result = manage("shell", "-c", EMIT, env=env)
    assert result.returncode == 0, result.stderr
    console = result.stdout + result.stderr
    assert "Conflict: /api/campaigns/1/close/" not in console and "Not Found: /api/nope/" not in console
    assert "Internal Server Error: /api/boom/" in console
    written = log_file.read_text()
    assert "Conflict: /api/campaigns/1/close/" in written and "Not Found: /api/nope/" in written


def test_by_default_the_console_keeps_them(tmp_path):
    env = {
        **os.environ,
        "DJANGO_ENV": "test",
        "LOG_FILE": str(tmp_path / "p.log"),
        "LOG_CONSOLE_LEVEL": "WARNING",
    }
    env.pop("LOG_CONSOLE_CLIENT_ERRORS", None)
    result = manage("shell", "-c", EMIT, env=env)
    assert "Conflict: /api/campaigns/1/close/" in result.stdout + result.stderr
