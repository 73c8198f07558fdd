from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from audit import capture
        from audit.services import command_scope
        from core.commands import register_command_recorder

        capture.connect()
        register_command_recorder(command_scope)
