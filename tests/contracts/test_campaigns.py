"""CampaignFactory and its Campaign clones: creation at the predicted address, terms, investments
under the hard cap and the deadline, cancellations, finalization, and the factory-held write role."""

from __future__ import annotations

import pytest

from tests.contracts.helpers import OPERATOR_ROLE, UINT128_MAX, UINT256_MAX, ZERO_ADDRESS, addr, h, hx

pytestmark = [pytest.mark.chain]


@pytest.fixture
def factory(c):
    return c.contract("CampaignFactory")


# ------------------------------------------------------------------ createCampaign


def test_create_campaign_at_the_predicted_address_with_its_terms(c, factory, issuer):
    ref = h("campaign-1")
    predicted = addr(factory.call("predictCampaignAddress", ref))
    assert factory.call("campaignOf", ref) == ZERO_ADDRESS
    assert c.w3.eth.get_code(predicted) == b""
    deadline = c.now() + 7 * 24 * 3600

    receipt = c.send(factory, "createCampaign", ref, issuer, 1_000, 5_000, deadline)

    assert c.events(receipt, factory) == [
        (
            "CampaignCreated",
            {
                "campaignRef": hx(ref),
                "campaignAddress": predicted,
                "issuer": issuer,
                "goal": 1_000,
                "hardCap": 5_000,
                "deadline": deadline,
            },
        )
    ]
    campaign = c.campaign(predicted)
    assert c.events(receipt, campaign) == [("Initialized", {"version": 1})]
    assert addr(factory.call("campaignOf", ref)) == predicted
    assert factory.call("campaignCount") == 1
    assert len(c.w3.eth.get_code(predicted)) == 45  # an EIP-1167 minimal proxy
    assert addr(campaign.call("factory")) == factory.address
    assert campaign.call("campaignRef") == ref
    assert addr(campaign.call("issuer")) == issuer
    assert (campaign.call("goal"), campaign.call("hardCap"), campaign.call("deadline")) == (
        1_000,
        5_000,
        deadline,
    )
    assert (campaign.call("raised"), campaign.call("investmentCount")) == (0, 0)
    assert (campaign.call("finalized"), campaign.call("successful")) == (False, False)
    assert campaign.call("OPERATOR_ROLE") == OPERATOR_ROLE


def test_implementation_and_clones_cannot_be_initialized_again(c, factory, make_campaign):
    campaign, _ = make_campaign()
    implementation = c.campaign(addr(factory.call("implementation")))
    args = (c.account(5), h("hijack"), c.account(5), 1, 1, c.now() + 100)
    for target in (campaign, implementation):
        err = c.revert_of(target, "initialize", *args, sender=c.account(5))
        assert (err.name, err.args) == ("InvalidInitialization", {})
    assert addr(factory.call("issuerRegistry")) == c.suite["IssuerRegistry"]


def test_boundary_terms_are_accepted(c, factory, issuer):
    deadline = c.now() + 60
    c.send(factory, "createCampaign", h("goal-eq-cap"), issuer, 10, 10, deadline)
    c.send(factory, "createCampaign", h("max-cap"), issuer, 1, UINT128_MAX, deadline)
    big = c.campaign(factory.call("campaignOf", h("max-cap")))
    assert big.call("hardCap") == UINT128_MAX
    assert factory.call("campaignCount") == 2


def test_create_campaign_reverts(c, factory, issuer):
    deadline = c.now() + 3600
    outsider = c.account(2)

    err = c.revert_of(factory, "createCampaign", h("r"), issuer, 1, 2, deadline, sender=outsider)
    assert err.name == "AccessControlUnauthorizedAccount"
    assert err.args == {"account": outsider, "neededRole": hx(OPERATOR_ROLE)}

    err = c.revert_of(factory, "createCampaign", h("r"), ZERO_ADDRESS, 1, 2, deadline)
    assert (err.name, err.args) == ("ZeroAddress", {})

    unregistered = c.account(3)
    err = c.revert_of(factory, "createCampaign", h("r"), unregistered, 1, 2, deadline)
    assert (err.name, err.args) == ("IssuerNotRegistered", {"issuer": unregistered})

    for goal, cap in [(0, 10), (11, 10), (1, UINT128_MAX + 1)]:
        err = c.revert_of(factory, "createCampaign", h("r"), issuer, goal, cap, deadline)
        assert (err.name, err.args) == ("InvalidCampaignTerms", {}), (goal, cap)

    for past in (c.now(), c.now() - 1, 0):
        err = c.revert_of(factory, "createCampaign", h("r"), issuer, 1, 2, past)
        assert (err.name, err.args) == ("DeadlineInPast", {"deadline": past})

    c.send(factory, "createCampaign", h("r"), issuer, 1, 2, deadline)
    err = c.revert_of(factory, "createCampaign", h("r"), issuer, 5, 50, deadline + 1)
    assert (err.name, err.args) == ("CampaignRefUsed", {"campaignRef": hx(h("r"))})
    assert factory.call("campaignCount") == 1


def test_a_revoked_issuer_cannot_start_a_campaign(c, factory, issuer):
    c.send(c.contract("IssuerRegistry"), "revokeIssuer", issuer)
    err = c.revert_of(factory, "createCampaign", h("r"), issuer, 1, 2, c.now() + 100)
    assert (err.name, err.args) == ("IssuerNotRegistered", {"issuer": issuer})


# ------------------------------------------------------------------ recordInvestment


def test_record_investment_updates_totals_and_emits_investment_recorded(c, make_campaign):
    campaign, _ = make_campaign()
    alice, bob = c.account(4), c.account(5)

    receipt = c.send(campaign, "recordInvestment", alice, 300, h("inv-1"))
    assert c.events(receipt, campaign) == [
        (
            "InvestmentRecorded",
            {"investmentRef": hx(h("inv-1")), "investor": alice, "amount": 300, "raised": 300},
        )
    ]
    receipt = c.send(campaign, "recordInvestment", bob, 200, h("inv-2"))
    assert c.event(receipt, campaign, "InvestmentRecorded")["raised"] == 500
    c.send(campaign, "recordInvestment", alice, 50, h("inv-3"))

    assert campaign.call("raised") == 550
    assert campaign.call("investmentCount") == 3
    assert campaign.call("investedBy", alice) == 350
    assert campaign.call("investedBy", bob) == 200
    investor, amount, cancelled = campaign.call("investmentOf", h("inv-1"))
    assert (addr(investor), amount, cancelled) == (alice, 300, False)
    assert campaign.call("investmentOf", h("unknown")) == (ZERO_ADDRESS, 0, False)


def test_record_investment_reverts(c, make_campaign):
    campaign, _ = make_campaign()
    alice, outsider = c.account(4), c.account(2)

    err = c.revert_of(campaign, "recordInvestment", alice, 1, h("i"), sender=outsider)
    assert (err.name, err.args) == ("NotOperator", {"account": outsider})
    err = c.revert_of(campaign, "recordInvestment", ZERO_ADDRESS, 1, h("i"))
    assert (err.name, err.args) == ("ZeroAddress", {})
    err = c.revert_of(campaign, "recordInvestment", alice, 0, h("i"))
    assert (err.name, err.args) == ("ZeroAmount", {})

    c.send(campaign, "recordInvestment", alice, 10, h("i"))
    err = c.revert_of(campaign, "recordInvestment", c.account(5), 20, h("i"))
    assert (err.name, err.args) == ("InvestmentRefUsed", {"investmentRef": hx(h("i"))})


def test_hard_cap_is_enforced_to_the_unit(c, make_campaign):
    campaign, _ = make_campaign(goal=100, hard_cap=1_000)
    alice = c.account(4)
    c.send(campaign, "recordInvestment", alice, 600, h("a"))

    err = c.revert_of(campaign, "recordInvestment", alice, 401, h("b"))
    assert (err.name, err.args) == ("HardCapExceeded", {"hardCap": 1_000, "raisedAfter": 1_001})
    # the reported total saturates instead of overflowing
    err = c.revert_of(campaign, "recordInvestment", alice, UINT256_MAX, h("b"))
    assert (err.name, err.args) == ("HardCapExceeded", {"hardCap": 1_000, "raisedAfter": UINT256_MAX})

    c.send(campaign, "recordInvestment", alice, 400, h("b"))  # exactly up to the cap
    assert campaign.call("raised") == 1_000
    err = c.revert_of(campaign, "recordInvestment", alice, 1, h("c"))
    assert (err.name, err.args) == ("HardCapExceeded", {"hardCap": 1_000, "raisedAfter": 1_001})
    # and a failure mined on chain leaves the total untouched
    receipt, err = c.send_failing(campaign, "recordInvestment", alice, 1, h("c"))
    assert err.name == "HardCapExceeded" and receipt["logs"] == []
    assert campaign.call("raised") == 1_000 and campaign.call("investmentCount") == 2


def test_an_amount_above_the_hard_cap_reverts_even_on_an_empty_campaign(c, make_campaign):
    campaign, _ = make_campaign(goal=100, hard_cap=1_000)
    err = c.revert_of(campaign, "recordInvestment", c.account(4), 1_001, h("a"))
    assert (err.name, err.args) == ("HardCapExceeded", {"hardCap": 1_000, "raisedAfter": 1_001})


def test_deadline_is_inclusive_and_then_enforced(c, make_campaign):
    campaign, _ = make_campaign(duration=1_000)
    deadline = campaign.call("deadline")
    alice = c.account(4)

    c.set_next_timestamp(deadline)  # the last second investments are accepted
    receipt = c.send(campaign, "recordInvestment", alice, 10, h("at-deadline"))
    assert c.block_time(receipt) == deadline

    c.increase_time(1)
    assert c.now() > deadline
    err = c.revert_of(campaign, "recordInvestment", alice, 10, h("late"))
    assert (err.name, err.args) == ("DeadlinePassed", {"deadline": deadline})
    receipt, err = c.send_failing(campaign, "recordInvestment", alice, 10, h("late"))
    assert (err.name, err.args) == ("DeadlinePassed", {"deadline": deadline})
    assert campaign.call("raised") == 10


def test_deadline_passes_with_evm_increase_time(c, make_campaign):
    campaign, _ = make_campaign(duration=3_600)
    deadline = campaign.call("deadline")
    c.send(campaign, "recordInvestment", c.account(4), 10, h("early"))
    c.increase_time(3_601)
    err = c.revert_of(campaign, "recordInvestment", c.account(4), 10, h("late"))
    assert (err.name, err.args) == ("DeadlinePassed", {"deadline": deadline})


# ------------------------------------------------------------------ cancelInvestment


def test_cancel_investment_frees_room_but_keeps_the_ref_used(c, make_campaign):
    campaign, _ = make_campaign(goal=100, hard_cap=1_000)
    alice, bob = c.account(4), c.account(5)
    c.send(campaign, "recordInvestment", alice, 700, h("a"))
    c.send(campaign, "recordInvestment", bob, 300, h("b"))

    receipt = c.send(campaign, "cancelInvestment", h("a"))
    assert c.events(receipt, campaign) == [
        (
            "InvestmentCancelled",
            {"investmentRef": hx(h("a")), "investor": alice, "amount": 700, "raised": 300},
        )
    ]
    assert campaign.call("raised") == 300
    assert campaign.call("investedBy", alice) == 0
    assert campaign.call("investmentCount") == 2
    investor, amount, cancelled = campaign.call("investmentOf", h("a"))
    assert (addr(investor), amount, cancelled) == (alice, 700, True)

    c.send(campaign, "recordInvestment", bob, 700, h("c"))  # the freed room is usable again
    assert campaign.call("raised") == 1_000
    err = c.revert_of(campaign, "recordInvestment", alice, 1, h("a"))
    assert (err.name, err.args) == ("InvestmentRefUsed", {"investmentRef": hx(h("a"))})


def test_cancel_investment_reverts(c, make_campaign):
    campaign, _ = make_campaign()
    alice, outsider = c.account(4), c.account(2)
    err = c.revert_of(campaign, "cancelInvestment", h("nope"))
    assert (err.name, err.args) == ("UnknownInvestment", {"investmentRef": hx(h("nope"))})

    c.send(campaign, "recordInvestment", alice, 10, h("a"))
    c.send(campaign, "recordInvestment", alice, 20, h("b"))
    err = c.revert_of(campaign, "cancelInvestment", h("a"), sender=outsider)
    assert (err.name, err.args) == ("NotOperator", {"account": outsider})

    c.send(campaign, "cancelInvestment", h("a"))
    err = c.revert_of(campaign, "cancelInvestment", h("a"))
    assert (err.name, err.args) == ("InvestmentAlreadyCancelled", {"investmentRef": hx(h("a"))})

    c.send(campaign, "finalize")
    err = c.revert_of(campaign, "cancelInvestment", h("b"))
    assert (err.name, err.args) == ("CampaignClosed", {})


# ------------------------------------------------------------------ finalize


def test_finalize_successful_when_goal_reached_exactly(c, make_campaign):
    campaign, _ = make_campaign(goal=500, hard_cap=1_000)
    c.send(campaign, "recordInvestment", c.account(4), 500, h("a"))
    receipt = c.send(campaign, "finalize")
    assert c.events(receipt, campaign) == [("CampaignFinalized", {"successful": True, "raised": 500})]
    assert (campaign.call("finalized"), campaign.call("successful")) == (True, True)


def test_finalize_unsuccessful_below_goal_and_after_the_deadline(c, make_campaign):
    campaign, _ = make_campaign(goal=500, hard_cap=1_000, duration=100)
    c.send(campaign, "recordInvestment", c.account(4), 499, h("a"))
    c.increase_time(500)
    receipt = c.send(campaign, "finalize")
    assert c.events(receipt, campaign) == [("CampaignFinalized", {"successful": False, "raised": 499})]
    assert (campaign.call("finalized"), campaign.call("successful")) == (True, False)


def test_finalize_reverts_and_closes_the_campaign(c, make_campaign):
    campaign, _ = make_campaign()
    outsider = c.account(2)
    err = c.revert_of(campaign, "finalize", sender=outsider)
    assert (err.name, err.args) == ("NotOperator", {"account": outsider})
    c.send(campaign, "finalize")
    err = c.revert_of(campaign, "finalize")
    assert (err.name, err.args) == ("CampaignClosed", {})
    err = c.revert_of(campaign, "recordInvestment", c.account(4), 1, h("after"))
    assert (err.name, err.args) == ("CampaignClosed", {})


# ------------------------------------------------------------------ write role lives at the factory


def test_campaign_write_role_follows_the_factory(c, factory, make_campaign):
    first, _ = make_campaign("one")
    second, _ = make_campaign("two")
    newcomer = c.account(6)
    err = c.revert_of(first, "recordInvestment", c.account(4), 1, h("x"), sender=newcomer)
    assert (err.name, err.args) == ("NotOperator", {"account": newcomer})

    c.send(factory, "grantRole", OPERATOR_ROLE, newcomer)
    c.send(first, "recordInvestment", c.account(4), 1, h("x"), sender=newcomer)
    c.send(second, "recordInvestment", c.account(4), 2, h("y"), sender=newcomer)

    c.send(factory, "revokeRole", OPERATOR_ROLE, c.operator)
    for campaign in (first, second):
        err = c.revert_of(campaign, "finalize")
        assert (err.name, err.args) == ("NotOperator", {"account": c.operator})
    # another contract's OPERATOR_ROLE confers nothing on campaigns
    c.send(c.contract("LoanRegistry"), "grantRole", OPERATOR_ROLE, c.account(7))
    err = c.revert_of(first, "finalize", sender=c.account(7))
    assert (err.name, err.args) == ("NotOperator", {"account": c.account(7)})
