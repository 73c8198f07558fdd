"""The base class of management commands that change data: each run is recorded by the audit log.

The audit app provides the recording (`register_command_recorder` in its `AppConfig.ready()`), so
commands of every layer (the chain side's `reconcile`, a domain app's `seed_demo`) share one base
without importing the audit app. With no recorder registered (the audit app not installed), a run
refuses to start rather than go unrecorded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from django.core.management.base import BaseCommand, CommandError

CommandRecorder = Callable[..., AbstractContextManager]  # (*, name, options) -> context manager

_recorder: list[CommandRecorder] = []


def register_command_recorder(recorder: CommandRecorder) -> None:
    _recorder[:] = [recorder]


@contextmanager
def quiet_console(*, verbosity: int) -> Iterator[None]:
    """While a command runs at the default verbosity, the terminal's log handlers show warnings and
    errors only: the command's own output is its summary, and the INFO lines stay in LOG_FILE (whose
    handler is untouched). `-v 2` or more shows them on the terminal too."""
    if verbosity >= 2:
        yield
        return
    consoles = [
        handler
        for handler in logging.getLogger().handlers
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler)
    ]
    levels = [handler.level for handler in consoles]
    for handler in consoles:
        handler.setLevel(max(handler.level, logging.WARNING))
    try:
        yield
    finally:
        for handler, level in zip(consoles, levels, strict=True):
            handler.setLevel(level)


class AuditedCommand(BaseCommand):
    """A one-shot command that changes data: audited, and quiet on the terminal (`quiet_console`)."""

    def execute(self, *args: Any, **options: Any):
        if not _recorder:
            raise CommandError("this command is audited, and no audit recorder is installed")
        with (
            quiet_console(verbosity=int(options.get("verbosity", 1))),
            _recorder[0](name=type(self).__module__.rsplit(".", 1)[-1], options=options),
        ):
            return super().execute(*args, **options)
