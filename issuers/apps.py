from django.apps import AppConfig


class IssuersConfig(AppConfig):
    name = "issuers"

    def ready(self) -> None:
        from issuers import chain, signals  # noqa: F401 - failure hook, reconciler, signals
        from issuers.onchain import handlers  # noqa: F401 - projection
