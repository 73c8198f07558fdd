from django.apps import AppConfig


class ContractsConfig(AppConfig):
    name = "contracts"

    def ready(self) -> None:
        from contracts import chain  # noqa: F401 - registers the watched-campaigns projection
