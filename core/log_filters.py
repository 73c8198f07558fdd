"""Logging filters for people's terminals."""

from __future__ import annotations

import logging

# Django's request loggers: a 4xx answered to a client is logged at WARNING by both.
REQUEST_LOGGERS = ("django.request", "django.server")


class DropClientErrors(logging.Filter):
    """Drops the WARNING records Django writes for each 4xx answer (`Conflict`, `Bad Request`, `Not
    Found`, ...): a client's mistake is not the operator's. `make run` puts it on the console handler
    only, so the log file keeps them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(REQUEST_LOGGERS):
            return True
        status = getattr(record, "status_code", None)
        return not (isinstance(status, int) and 400 <= status < 500)
