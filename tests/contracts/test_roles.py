"""OperatorRoles (OpenZeppelin AccessControl) on every role-managed contract: grant, revoke, renounce,
their events and reverts, and the constructors' zero-address checks."""

from __future__ import annotations

import pytest
from web3.exceptions import ContractLogicError

from blockchain.chain.abi import load_artifact
from blockchain.chain.bindings import revert_data_of
from blockchain.chain.signer import get_signer
from contracts.deployment import creation_data, deploy_suite_onchain
from tests.contracts.helpers import DEFAULT_ADMIN_ROLE, OPERATOR_ROLE, ZERO_ADDRESS, addr, h, hx

pytestmark = [pytest.mark.chain]

ROLE_CONTRACTS = ["IssuerRegistry", "CampaignFactory", "ShareCertificate", "CredentialVault", "LoanRegistry"]


@pytest.mark.parametrize("name", ROLE_CONTRACTS)
def test_deployer_holds_both_roles_and_admin_role_administers_operator(c, name):
    contract = c.contract(name)
    assert contract.call("OPERATOR_ROLE") == OPERATOR_ROLE
    assert contract.call("DEFAULT_ADMIN_ROLE") == DEFAULT_ADMIN_ROLE
    assert contract.call("hasRole", OPERATOR_ROLE, c.operator) is True
    assert contract.call("hasRole", DEFAULT_ADMIN_ROLE, c.operator) is True
    assert contract.call("hasRole", OPERATOR_ROLE, c.account(1)) is False
    assert contract.call("getRoleAdmin", OPERATOR_ROLE) == DEFAULT_ADMIN_ROLE
    assert contract.call("supportsInterface", bytes.fromhex("7965db0b")) is True  # IAccessControl


@pytest.mark.parametrize("name", ROLE_CONTRACTS)
def test_grant_revoke_and_renounce_emit_role_events(c, name):
    contract = c.contract(name)
    newcomer = c.account(3)

    receipt = c.send(contract, "grantRole", OPERATOR_ROLE, newcomer)
    assert c.events(receipt, contract) == [
        ("RoleGranted", {"role": hx(OPERATOR_ROLE), "account": newcomer, "sender": c.operator})
    ]
    assert contract.call("hasRole", OPERATOR_ROLE, newcomer) is True
    # granting a role already held changes nothing and emits nothing
    assert c.events(c.send(contract, "grantRole", OPERATOR_ROLE, newcomer), contract) == []

    receipt = c.send(contract, "revokeRole", OPERATOR_ROLE, newcomer)
    assert c.events(receipt, contract) == [
        ("RoleRevoked", {"role": hx(OPERATOR_ROLE), "account": newcomer, "sender": c.operator})
    ]
    assert contract.call("hasRole", OPERATOR_ROLE, newcomer) is False

    c.send(contract, "grantRole", OPERATOR_ROLE, newcomer)
    receipt = c.send(contract, "renounceRole", OPERATOR_ROLE, newcomer, sender=newcomer)
    assert c.events(receipt, contract) == [
        ("RoleRevoked", {"role": hx(OPERATOR_ROLE), "account": newcomer, "sender": newcomer})
    ]
    assert contract.call("hasRole", OPERATOR_ROLE, newcomer) is False


@pytest.mark.parametrize("name", ROLE_CONTRACTS)
def test_role_management_reverts(c, name):
    contract = c.contract(name)
    outsider = c.account(2)
    for function in ("grantRole", "revokeRole"):
        err = c.revert_of(contract, function, OPERATOR_ROLE, outsider, sender=outsider)
        assert err.name == "AccessControlUnauthorizedAccount"
        assert err.args == {"account": outsider, "neededRole": hx(DEFAULT_ADMIN_ROLE)}
    # an operator that is not admin cannot grant either
    c.send(contract, "grantRole", OPERATOR_ROLE, outsider)
    err = c.revert_of(contract, "grantRole", OPERATOR_ROLE, c.account(4), sender=outsider)
    assert err.args == {"account": outsider, "neededRole": hx(DEFAULT_ADMIN_ROLE)}
    # renouncing needs the caller's own address as confirmation
    err = c.revert_of(contract, "renounceRole", OPERATOR_ROLE, c.operator, sender=outsider)
    assert (err.name, err.args) == ("AccessControlBadConfirmation", {})


def test_a_granted_operator_can_write_and_a_revoked_one_cannot(c):
    loans = c.contract("LoanRegistry")
    newcomer = c.account(3)
    borrower, lender = c.account(4), c.account(5)
    c.send(loans, "grantRole", OPERATOR_ROLE, newcomer)
    c.send(loans, "storeLoan", "ROLE-1", h("doc1"), borrower, lender, sender=newcomer)
    assert loans.call("getLoan", "ROLE-1")[0] is True

    c.send(loans, "revokeRole", OPERATOR_ROLE, newcomer)
    err = c.revert_of(loans, "storeLoan", "ROLE-2", h("doc2"), borrower, lender, sender=newcomer)
    assert err.name == "AccessControlUnauthorizedAccount"
    assert err.args == {"account": newcomer, "neededRole": hx(OPERATOR_ROLE)}

    # the admin revoking its own operator role stops its writes too
    c.send(loans, "revokeRole", OPERATOR_ROLE, c.operator)
    err = c.revert_of(loans, "storeLoan", "ROLE-3", h("doc3"), borrower, lender)
    assert err.args == {"account": c.operator, "neededRole": hx(OPERATOR_ROLE)}


def creation_revert(c, name: str, args: list):
    artifact = load_artifact(name)
    try:
        c.w3.eth.estimate_gas({"from": c.operator, "data": creation_data(artifact, args)})
    except ContractLogicError as exc:
        return artifact.interface.decode_error(revert_data_of(exc))
    raise AssertionError(f"deploying {name} with {args} did not revert")


@pytest.mark.parametrize("name", ["IssuerRegistry", "ShareCertificate", "CredentialVault", "LoanRegistry"])
def test_constructors_reject_a_zero_admin_or_operator(c, name):
    someone = c.account(1)
    extra = ["https://shares.example/api/certificates/"] if name == "ShareCertificate" else []
    assert creation_revert(c, name, [ZERO_ADDRESS, someone, *extra]).name == "ZeroAddress"
    assert creation_revert(c, name, [someone, ZERO_ADDRESS, *extra]).name == "ZeroAddress"


def test_factory_constructor_rejects_zero_addresses(c):
    someone, registry = c.account(1), c.suite["IssuerRegistry"]
    assert creation_revert(c, "CampaignFactory", [ZERO_ADDRESS, someone, registry]).name == "ZeroAddress"
    assert creation_revert(c, "CampaignFactory", [someone, ZERO_ADDRESS, registry]).name == "ZeroAddress"
    assert creation_revert(c, "CampaignFactory", [someone, someone, ZERO_ADDRESS]).name == "ZeroAddress"


def test_a_suite_can_be_deployed_with_separate_admin_and_operator(c):

    admin, operator = c.account(6), c.account(7)
    deployed = deploy_suite_onchain(w3=c.w3, signer=get_signer(), admin=admin, operator=operator)
    for d in deployed:
        contract = c.contract(d.name, d.address)
        assert contract.call("hasRole", DEFAULT_ADMIN_ROLE, admin) is True
        assert contract.call("hasRole", OPERATOR_ROLE, operator) is True
        assert contract.call("hasRole", OPERATOR_ROLE, admin) is False
        assert contract.call("hasRole", DEFAULT_ADMIN_ROLE, c.operator) is False
    factory = next(d for d in deployed if d.name == "CampaignFactory")
    registry = next(d for d in deployed if d.name == "IssuerRegistry")
    assert addr(c.contract("CampaignFactory", factory.address).call("issuerRegistry")) == registry.address
