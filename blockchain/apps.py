import sys

from django.apps import AppConfig

PYTHON_RECURSION_LIMIT = 1000  # CPython's default


class BlockchainConfig(AppConfig):
    name = "blockchain"
    verbose_name = "Blockchain"

    def ready(self) -> None:
        # eth_account loads py_ecc (through eth_keyfile), which raises the recursion limit to 100,000.
        # With that limit, json.loads of a request body of ~100,000 nested brackets (200 kB)
        # overflows the C stack and kills the process, where it should raise RecursionError. Load
        # them now and put the default back.
        import eth_account  # noqa: F401

        sys.setrecursionlimit(PYTHON_RECURSION_LIMIT)
        from blockchain.metrics import register_collectors

        register_collectors()
        from blockchain import balances  # noqa: F401 - registers its event handlers and reconciler
