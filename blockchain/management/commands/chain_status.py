import time
from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from blockchain.chain.client import get_web3


class Command(BaseCommand):
    help = "The chain as this platform sees it: chain id, head, RPC latency, the signer and its balance."

    def handle(self, *args, **opts) -> None:
        from blockchain.chain.signer import get_signer

        w3 = get_web3()
        try:
            started = time.perf_counter()
            head = w3.eth.block_number
            latency_ms = (time.perf_counter() - started) * 1000
            chain_id = w3.eth.chain_id
        except Exception as exc:
            raise CommandError(f"the node at {settings.CHAIN_RPC_URL} did not answer: {exc}") from None
        self.stdout.write(f"chain id     {chain_id} (configured {settings.CHAIN_ID})")
        self.stdout.write(f"head         {head}")
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
