"""The test signer pool: anvil dev accounts 1..3 (public keys) beside the primary (account 0)."""

from __future__ import annotations

from contextlib import contextmanager

from django.conf import settings
from django.test import override_settings
from eth_account import Account

from blockchain.chain.client import get_web3
from blockchain.chain.signer import clear_signer_caches, get_signer

POOL_PRIVATE_KEYS = [
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",  # anvil account 1
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",  # anvil account 2
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",  # anvil account 3
]
POOL_ADDRESSES = [Account.from_key(key).address for key in POOL_PRIVATE_KEYS]
# A worker process signs with the pool through the same variable production uses for raw keys
# (allowed outside production only).
WORKER_ENV = {"SIGNER_POOL_PRIVATE_KEYS": ",".join(POOL_PRIVATE_KEYS)}


@contextmanager
def signer_pool(contracts: dict[str, str], *, retire_primary: bool = True):
    """This process signs with the pool; each pool signer holds OPERATOR_ROLE on the suite (granted by
    the admin, as deploy_contracts does) and an active lane. With `retire_primary`, the primary signer
    takes no new intents, so the pool is exactly the three."""
    from contracts.deployment import grant_pool_signers, record_signer_lane

    with override_settings(SIGNER_POOL_PRIVATE_KEYS=POOL_PRIVATE_KEYS):
        clear_signer_caches()
        try:
            grant_pool_signers(
                w3=get_web3(),
                admin=get_signer(),
                chain_id=settings.CHAIN_ID,
                addresses=contracts,
                signers=POOL_ADDRESSES,
            )
            if retire_primary:
                record_signer_lane(chain_id=settings.CHAIN_ID, address=get_signer().address, active=False)
            yield POOL_ADDRESSES
        finally:
            clear_signer_caches()
    clear_signer_caches()


def nonces_by_signer(rows) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for signer, nonce in rows.order_by("id").values_list("signer", "nonce"):
        out.setdefault(signer, []).append(nonce)
    return out
