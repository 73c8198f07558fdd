from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Process-wide instrumentation (every DB connection is counted and timed) and the platform's own
    rows (core.models: Idempotency-Key records)."""

    name = "core"
    verbose_name = "Platform core"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from core import lookups
        from core.metrics import instrument_connection

        connection_created.connect(instrument_connection, dispatch_uid="db_metrics")
        lookups.register()  # field__anyof=[...]: one array parameter instead of one per value
