from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from audit import capture
        from audit.services import command_scope, record_endpoint_disabled
        from core.commands import register_command_recorder
        from webhooks.signals import endpoint_disabled

        capture.connect()
        register_command_recorder(command_scope)
        endpoint_disabled.connect(record_endpoint_disabled, dispatch_uid="audit.endpoint_disabled")
