import time
from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from blockchain.chain.client import get_web3
from blockchain.selectors import highest_known_block

RESYNC_COMMAND = "python manage.py rebuild_from_chain"


class Command(BaseCommand):
    help = (
        "The chain as this platform sees it: chain id, head, RPC latency, the signer and its balance, "
        "and whether the node is behind what the database remembers."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--against-database",
            action="store_true",
            help="only check the node against the database: fail when the chain is older than it",
        )

    def handle(self, *args, against_database: bool, **opts) -> None:
        from blockchain.chain.signer import get_signer

        w3 = get_web3()
        try:
            started = time.perf_counter()
            head = w3.eth.block_number
            latency_ms = (time.perf_counter() - started) * 1000
            chain_id = w3.eth.chain_id
        except Exception as exc:
            raise CommandError(f"the node at {settings.CHAIN_RPC_URL} did not answer: {exc}") from None
        if against_database:
            self._check_against_database(chain_id=chain_id, head=head)
            return
        self.stdout.write(f"chain id     {chain_id} (configured {settings.CHAIN_ID})")
        self.stdout.write(f"head         {head}")
        known = highest_known_block(chain_id=chain_id)
        self.stdout.write(f"database     knows blocks up to {known if known is not None else '-'}")
        self.stdout.write(f"rpc latency  {latency_ms:.1f} ms (eth_blockNumber)")
        try:
            signer = get_signer().address
        except Exception as exc:
            self.stdout.write(f"signer       not configured ({exc})")
            return
        balance = Decimal(w3.eth.get_balance(signer)) / Decimal(10**18)
        low = " LOW: below SIGNER_MIN_BALANCE" if balance < settings.SIGNER_MIN_BALANCE else ""
        self.stdout.write(f"signer       {signer}")
        self.stdout.write(f"balance      {balance:f} {settings.CHAIN_NATIVE_SYMBOL}{low}")
        if chain_id != settings.CHAIN_ID:
            raise CommandError(f"the node's chain id {chain_id} is not the configured {settings.CHAIN_ID}")
        self._check_against_database(chain_id=chain_id, head=head)

    def _check_against_database(self, *, chain_id: int, head: int) -> None:
        known = highest_known_block(chain_id=chain_id)
        if known is not None and known > head:
            raise CommandError(
                f"the chain is older than the database: the node's head is block {head} but the database "
                f"remembers block {known} (the node was reset or restored from an older state). "
                f"Resync the database with the chain: `{RESYNC_COMMAND}`"
            )
