from django.apps import AppConfig


class BlockchainConfig(AppConfig):
    name = "blockchain"
    verbose_name = "Blockchain"

    def ready(self) -> None:
        from blockchain.metrics import register_collectors

        register_collectors()
        from blockchain import balances  # noqa: F401 - registers its event handlers and reconciler
