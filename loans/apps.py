from django.apps import AppConfig


class LoansConfig(AppConfig):
    name = "loans"

    def ready(self) -> None:
        from loans import chain, signals  # noqa: F401 - failure hooks, reconciler, signals
        from loans.onchain import handlers  # noqa: F401 - projection
