from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"

    def ready(self) -> None:
        from campaigns import chain, signals  # noqa: F401 - registers event handlers, hooks and signals
