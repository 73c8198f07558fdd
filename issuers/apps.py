from django.apps import AppConfig


class IssuersConfig(AppConfig):
    name = "issuers"

    def ready(self) -> None:
        from issuers import signals  # noqa: F401 - declared intents to the outbox
        from issuers.announcements import COMPANIES
        from issuers.onchain import handlers, intents  # noqa: F401 - projection, reconciler, failure hook

        COMPANIES.connect()  # after the intent signals: webhooks see the declared outbox rows
