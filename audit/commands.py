"""Base class for management commands that change data: each run is one audit event."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from audit.services import command_scope


class AuditedCommand(BaseCommand):
    def execute(self, *args, **options):
        with command_scope(name=type(self).__module__.rsplit(".", 1)[-1], options=options):
            return super().execute(*args, **options)
