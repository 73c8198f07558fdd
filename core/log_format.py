"""Log lines: JSON with the request id and task id, and never a secret.

Every handler gets `ContextFilter` (adds request_id, task_id, task_name) and a redacting formatter:
whatever a library or a careless f-string puts in a message or a traceback, the signer key, the
keystore password, the key decrypted from the keystore, the Django secret key, the database password
and the node URL's credentials, path and query (a hosted provider's API key lives there) are replaced
before the line is written. `redact` is also applied to error text the platform stores for operators.
"""

from __future__ import annotations

import json
import logging
import os
from functools import lru_cache
from urllib.parse import unquote, urlparse

from pythonjsonlogger.json import JsonFormatter

from core.request_context import request_id_var, task_id_var, task_name_var

REDACTED = "[redacted]"
_MIN_SECRET_LENGTH = 8  # shorter values would redact ordinary words


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # django.request logs a response after the middleware has returned: its record carries the request.
        record.request_id = request_id_var.get() or getattr(
            getattr(record, "request", None), "request_id", None
        )
        record.task_id = task_id_var.get()
        record.task_name = task_name_var.get()
        return True


def _database_password() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return unquote(urlparse(url).password or "") if "://" in url else ""


def _file_secret(path: str) -> str:
    try:
        with open(path) as handle:
            return handle.read().strip()
    except OSError:
        return ""


_registered: set[str] = set()


def register_secret(value: str) -> None:
    """A secret known only at run time (e.g. the key decrypted from the signer keystore)."""
    if value and value not in _registered:
        _registered.add(value)
        secret_values.cache_clear()


def url_secrets(url: str) -> set[str]:
    """The parts of a node URL that may carry credentials: user info, path and query."""
    if "://" not in url:
        return set()
    parsed = urlparse(url)
    parts = {unquote(parsed.password or ""), parsed.query}
    if parsed.path not in ("", "/"):
        parts.add(parsed.path + (f"?{parsed.query}" if parsed.query else ""))
        parts.add(parsed.path)
    return {p for p in parts if p}


@lru_cache(maxsize=1)
def secret_values() -> tuple[str, ...]:
    """The values no log line may contain (each also in its other common spellings)."""
    from django.conf import settings

    values = {
        settings.SECRET_KEY,
        settings.SIGNER_PRIVATE_KEY.reveal(),
        settings.SIGNER_PASSWORD.reveal(),
        _file_secret(settings.SIGNER_PASSWORD_FILE) if settings.SIGNER_PASSWORD_FILE else "",
        _database_password(),
        settings.HEALTH_TOKEN.reveal(),
        settings.METRICS_TOKEN.reveal(),
        *_registered,
        *(
            secret
            for url in {settings.CHAIN_RPC_URL, *settings.CHAIN_RPC_URLS}
            for secret in url_secrets(url)
        ),
    }
    spellings: set[str] = set()
    for value in values:
        if len(value) < _MIN_SECRET_LENGTH:
            continue
        # As written into a JSON line too: quotes, backslashes and non-ASCII come out escaped.
        spellings.update({value, json.dumps(value)[1:-1]})
        bare = value.removeprefix("0x").removeprefix("0X")
        if len(bare) >= _MIN_SECRET_LENGTH and all(c in "0123456789abcdefABCDEF" for c in bare):
            spellings.update({bare, bare.lower(), bare.upper()})
    # Longest first, so a value containing another is redacted whole.
    return tuple(sorted(spellings, key=len, reverse=True))


def redact(text: str) -> str:
    try:
        secrets = secret_values()
    except Exception:  # settings not ready (very early start-up): nothing configured to leak yet
        return text
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def describe_error(exc: BaseException) -> str:
    """`Type: message` of an exception, redacted: for error text the platform stores for operators."""
    return redact(f"{type(exc).__name__}: {exc}")


class RedactingJsonFormatter(JsonFormatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


JSON_FIELDS = "%(levelname)s %(name)s %(message)s %(request_id)s %(task_id)s %(task_name)s %(process)d"
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(task_id)s] %(message)s"


def logging_config(*, level: str, json_lines: bool, log_file: str = "", console_level: str = "") -> dict:
    """The LOGGING dict: console always, plus an append-only file when `log_file` is set. The console
    may be quieter than the file (`make run` keeps the terminal to warnings, the file has everything)."""
    formatter = "json" if json_lines else "plain"
    handlers: dict[str, dict] = {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": formatter,
            "filters": ["context"],
            "level": console_level or level,
        }
    }
    if log_file:
        # Watched: logrotate may move the file; several processes append to it.
        handlers["file"] = {
            "class": "logging.handlers.WatchedFileHandler",
            "filename": log_file,
            "formatter": "json",
            "filters": ["context"],
        }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "core.log_format.ContextFilter"}},
        "formatters": {
            "json": {
                "()": "core.log_format.RedactingJsonFormatter",
                "fmt": JSON_FIELDS,
                "rename_fields": {"levelname": "level", "name": "logger"},
                "timestamp": "time",  # ISO 8601, UTC
            },
            "plain": {"()": "core.log_format.RedactingFormatter", "format": PLAIN_FORMAT},
        },
        "handlers": handlers,
        "root": {"handlers": list(handlers), "level": level},
        "loggers": {
            # Django's own default config gives "django" a second console handler while DEBUG is on
            # (every request error twice in a developer's terminal); ours are the root's.
            "django": {"handlers": [], "propagate": True},
            "django.db.backends": {"level": "WARNING"},
            # Celery installs its own handlers on the worker unless told not to (see config.celery).
            "celery": {"level": level},
        },
    }
