from django.apps import AppConfig


class WalletsConfig(AppConfig):
    """The balance cache: Redis in front of rows in front of the chain, kept fresh by the outbox's
    row changes and by Transfer events."""

    name = "wallets"
    verbose_name = "Wallets"

    def ready(self) -> None:
        from blockchain.outbox.hooks import on_rows_changed
        from wallets import balances, tasks  # noqa: F401 - registers the event handlers, reconciler, tasks

        on_rows_changed(balances.mark_rows_stale)
