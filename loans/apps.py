from django.apps import AppConfig


class LoansConfig(AppConfig):
    name = "loans"

    def ready(self) -> None:
        from loans import signals  # noqa: F401 - declared intents to the outbox
        from loans.announcements import LOANS
        from loans.onchain import handlers, intents  # noqa: F401 - projection, reconciler, failure hooks

        LOANS.connect()  # after the intent signals: webhooks see the declared outbox rows
