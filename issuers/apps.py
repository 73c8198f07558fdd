from django.apps import AppConfig


class IssuersConfig(AppConfig):
    name = "issuers"

    def ready(self) -> None:
        from issuers import chain, signals  # noqa: F401 - registers event handlers, hooks and signals
