from django.apps import AppConfig


class LoansConfig(AppConfig):
    name = "loans"

    def ready(self) -> None:
        from loans import chain, signals  # noqa: F401 - registers event handlers, hooks and signals
