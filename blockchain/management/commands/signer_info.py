from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from web3 import Web3

from blockchain.chain.client import get_web3
from blockchain.chain.signer import SignerConfigurationError, get_signer
from blockchain.models import NonceAccount
from core.log_format import describe_error


class Command(BaseCommand):
    help = "Show the platform signer's address, balance and nonces (never the key)."

    def handle(self, *args, **opts) -> None:
        try:
            signer = get_signer()
        except SignerConfigurationError as exc:
            raise CommandError(str(exc)) from None
        address = signer.address
        self.stdout.write(f"address          {address}")
        keystore = settings.SIGNER_KEYSTORE
        source = f"keystore {keystore}" if keystore else "raw key (development)"
        self.stdout.write(f"source           {source}")
        account = NonceAccount.objects.filter(chain_id=settings.CHAIN_ID, address=address).first()
        self.stdout.write(f"allocator next   {account.next_nonce if account else '(not created yet)'}")
        w3 = get_web3()
        try:
            balance = w3.eth.get_balance(address)
            latest = w3.eth.get_transaction_count(address, "latest")
            pending = w3.eth.get_transaction_count(address, "pending")
            chain_id = w3.eth.chain_id
        except Exception as exc:
            raise CommandError(
                f"cannot reach the chain node ({w3.provider}): {describe_error(exc)}"
            ) from None
        self.stdout.write(f"chain id         {chain_id}")
        self.stdout.write(f"balance          {Web3.from_wei(balance, 'ether')} (native coin) = {balance} wei")
        self.stdout.write(f"nonce on chain   {latest} mined, {pending} including pending")
