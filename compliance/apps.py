from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    """The compliance dashboard: reads every domain app, so it sits above them all."""

    name = "compliance"
    verbose_name = "Compliance"
