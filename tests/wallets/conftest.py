"""A tracked ERC-20 on the test chain, shared with the reorg tests."""

from __future__ import annotations

import pytest

from blockchain.chain.abi import load_artifact
from blockchain.chain.client import get_web3
from blockchain.chain.signer import get_signer
from contracts.deployment import deploy_contract
from wallets.balances import clear_hot_cache


@pytest.fixture
def token(contracts, settings):
    """A DemoToken (6 decimals) configured as the tracked ERC-20 `DUSD`."""
    signer = get_signer()
    deployed = deploy_contract(
        w3=get_web3(),
        signer=signer,
        artifact=load_artifact("DemoToken"),
        args=["Demo Dollar", "DUSD", 6, signer.address, signer.address],
    )
    settings.CHAIN_TOKENS = {"DUSD": {"address": deployed.address, "decimals": 6}}
    clear_hot_cache()
    return deployed.address
