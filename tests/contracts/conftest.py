"""Fixtures of the contract tests: a `Chain` view of the session's anvil and suite, reverted per test."""

from __future__ import annotations

import pytest

from tests.contracts.helpers import Chain, h


@pytest.fixture
def c(chain, deployed_suite) -> Chain:
    """The deployed suite on the session anvil; every change is reverted after the test."""
    return Chain.connect(chain, deployed_suite)


@pytest.fixture
def issuer(c) -> str:
    """A registered issuer (anvil account 1)."""
    account = c.account(1)
    c.send(c.contract("IssuerRegistry"), "registerIssuer", account, h("vc:issuer1"), "ipfs://issuer1")
    return account


@pytest.fixture
def make_campaign(c, issuer):
    """Create a campaign: returns (its BoundContract, the createCampaign receipt)."""

    def make(label: str = "camp", *, goal: int = 1_000, hard_cap: int = 5_000, duration: int = 3600):
        deadline = c.now() + duration
        factory = c.contract("CampaignFactory")
        receipt = c.send(factory, "createCampaign", h(label), issuer, goal, hard_cap, deadline)
        address = factory.call("campaignOf", h(label))
        return c.campaign(address), receipt

    return make
