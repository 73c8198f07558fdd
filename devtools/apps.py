from django.apps import AppConfig


class DevtoolsConfig(AppConfig):
    """Development and test tooling: the local node, process supervision, crash points. Installed
    only outside production (config/settings.py); production code never imports this package."""

    name = "devtools"
    verbose_name = "Development tools"

    def ready(self) -> None:
        from devtools.failpoints import install

        install()
