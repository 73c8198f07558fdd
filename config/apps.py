from django.apps import AppConfig


class PlatformConfig(AppConfig):
    """Process-wide instrumentation (no models): every DB connection is counted and timed."""

    name = "config"
    label = "platform"
    verbose_name = "Platform"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from config.metrics import instrument_connection

        connection_created.connect(instrument_connection, dispatch_uid="db_metrics")
