"""The base class of management commands that change data: each run is recorded by the audit log.

The audit app provides the recording (`register_command_recorder` in its `AppConfig.ready()`), so
commands of every layer (the chain side's `reconcile`, a domain app's `seed_demo`) share one base
without importing the audit app. With no recorder registered (the audit app not installed), a run
refuses to start rather than go unrecorded.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from django.core.management.base import BaseCommand, CommandError

CommandRecorder = Callable[..., AbstractContextManager]  # (*, name, options) -> context manager

_recorder: list[CommandRecorder] = []


def register_command_recorder(recorder: CommandRecorder) -> None:
    _recorder[:] = [recorder]


class AuditedCommand(BaseCommand):
    def execute(self, *args: Any, **options: Any):
        if not _recorder:
            raise CommandError("this command is audited, and no audit recorder is installed")
        with _recorder[0](name=type(self).__module__.rsplit(".", 1)[-1], options=options):
            return super().execute(*args, **options)
