import os
import time
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from blockchain.chain.client import get_web3
from blockchain.chain.failover import ChainIdMismatch
from blockchain.selectors import highest_known_block
from core.log_format import redact


def resync_command() -> str:
    """The command that resyncs the database with the chain, as typed from a fresh shell: in
    development through the virtualenv `make run` creates (nothing need be activated)."""
    python = ".venv/bin/python" if settings.DJANGO_ENV == "development" else "python"
    return f"{python} manage.py rebuild_from_chain"


def default_node_notice() -> str | None:
    """In development, when neither `make run` (its VAR_DIR/run.env) nor the environment names a
    node, the command falls back to the default CHAIN_RPC_URL: say so rather than use it silently."""
    if settings.DJANGO_ENV != "development":
        return None
    if any(os.environ.get(name) for name in ("CHAIN_RPC_URL", "CHAIN_RPC_URLS")):
        return None
    if (Path(settings.VAR_DIR) / "run.env").is_file():
        return None
    return (
        f"`make run` is not running (no {Path(settings.VAR_DIR) / 'run.env'}) and CHAIN_RPC_URL is not set: "
        f"using the default node {redact(settings.CHAIN_RPC_URL)}. Start `make run`, or set CHAIN_RPC_URL."
    )


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

        node = redact(settings.CHAIN_RPC_URL)  # a provider's key in the URL's path never shows
        notice = default_node_notice()
        if notice:
            self.stderr.write(notice)
        w3 = get_web3()
        try:
            started = time.perf_counter()
            head = w3.eth.block_number
            latency_ms = (time.perf_counter() - started) * 1000
            chain_id = w3.eth.chain_id
            endpoints = w3.provider.check_chain_ids()  # every endpoint of CHAIN_RPC_URLS, redacted names
        except ChainIdMismatch as exc:
            raise CommandError(str(exc)) from None
        except Exception as exc:
            hint = " (`make run` is not running: start it, or set CHAIN_RPC_URL)" if notice else ""
            raise CommandError(redact(f"the node at {node} did not answer{hint}: {exc}")) from None
        if against_database:
            known = self._check_against_database(chain_id=chain_id, head=head)
            self.stdout.write(
                f"node {node}: head {head}, the database knows blocks up to "
                f"{known if known is not None else '-'}: the chain is not older than the database"
            )
            return
        self.stdout.write(f"node         {node}")
        self.stdout.write(f"chain id     {chain_id} (configured {settings.CHAIN_ID})")
        for endpoint in endpoints:  # redacted names: scheme://host:port
            state = f"chain id {endpoint['chain_id']}" if endpoint["ok"] else f"DOWN: {endpoint['error']}"
            self.stdout.write(f"endpoint     {endpoint['endpoint']}  {state}")
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

    def _check_against_database(self, *, chain_id: int, head: int) -> int | None:
        """The highest block the database knows; CommandError when the node is behind it."""
        known = highest_known_block(chain_id=chain_id)
        if known is not None and known > head:
            raise CommandError(
                f"the chain is older than the database: the node's head is block {head} but the database "
                f"remembers block {known} (the node was reset or restored from an older state). "
                f"Resync the database with the chain: `{resync_command()}`"
            )
        return known
