"""IssuerRegistry: register / revoke / re-register, every revert, every event."""

from __future__ import annotations

import pytest

from tests.contracts.helpers import OPERATOR_ROLE, ZERO_ADDRESS, h, hx

pytestmark = [pytest.mark.chain]


@pytest.fixture
def registry(c):
    return c.contract("IssuerRegistry")


def test_register_stores_the_record_and_emits_issuer_registered(c, registry):
    issuer = c.account(1)
    assert registry.call("isRegisteredIssuer", issuer) is False
    assert registry.call("issuerOf", issuer) == (False, b"\0" * 32, "", 0, 0)

    receipt = c.send(registry, "registerIssuer", issuer, h("vc1"), "ipfs://bafy-issuer-1")

    assert c.events(receipt, registry) == [
        ("IssuerRegistered", {"issuer": issuer, "vcHash": hx(h("vc1")), "ipfsHash": "ipfs://bafy-issuer-1"})
    ]
    assert registry.call("isRegisteredIssuer", issuer) is True
    assert registry.call("issuerOf", issuer) == (
        True,
        h("vc1"),
        "ipfs://bafy-issuer-1",
        c.block_time(receipt),
        0,
    )


def test_register_reverts_for_non_operator_zero_address_and_duplicate(c, registry):
    issuer, outsider = c.account(1), c.account(2)
    err = c.revert_of(registry, "registerIssuer", issuer, h("vc"), "ipfs://x", sender=outsider)
    assert err.name == "AccessControlUnauthorizedAccount"
    assert err.args == {"account": outsider, "neededRole": hx(OPERATOR_ROLE)}

    err = c.revert_of(registry, "registerIssuer", ZERO_ADDRESS, h("vc"), "ipfs://x")
    assert (err.name, err.args) == ("ZeroAddress", {})

    c.send(registry, "registerIssuer", issuer, h("vc"), "ipfs://x")
    err = c.revert_of(registry, "registerIssuer", issuer, h("vc2"), "ipfs://y")
    assert (err.name, err.args) == ("IssuerAlreadyRegistered", {"issuer": issuer})


def test_revoke_keeps_the_record_with_its_revocation_time_and_emits_issuer_revoked(c, registry):
    issuer = c.account(1)
    first = c.send(registry, "registerIssuer", issuer, h("vc1"), "ipfs://one")
    c.increase_time(10)
    receipt = c.send(registry, "revokeIssuer", issuer)

    assert c.events(receipt, registry) == [("IssuerRevoked", {"issuer": issuer})]
    assert registry.call("isRegisteredIssuer", issuer) is False
    assert registry.call("issuerOf", issuer) == (
        False,
        h("vc1"),
        "ipfs://one",
        c.block_time(first),
        c.block_time(receipt),
    )


def test_revoke_reverts_for_non_operator_unknown_and_already_revoked_issuer(c, registry):
    issuer, outsider = c.account(1), c.account(2)
    err = c.revert_of(registry, "revokeIssuer", issuer)
    assert (err.name, err.args) == ("IssuerNotRegistered", {"issuer": issuer})

    c.send(registry, "registerIssuer", issuer, h("vc"), "ipfs://x")
    err = c.revert_of(registry, "revokeIssuer", issuer, sender=outsider)
    assert err.name == "AccessControlUnauthorizedAccount"
    assert err.args == {"account": outsider, "neededRole": hx(OPERATOR_ROLE)}

    c.send(registry, "revokeIssuer", issuer)
    err = c.revert_of(registry, "revokeIssuer", issuer)
    assert (err.name, err.args) == ("IssuerNotRegistered", {"issuer": issuer})


def test_a_revoked_issuer_can_register_again_as_a_new_registration(c, registry):
    issuer = c.account(1)
    c.send(registry, "registerIssuer", issuer, h("vc1"), "ipfs://one")
    c.send(registry, "revokeIssuer", issuer)
    c.increase_time(5)
    receipt = c.send(registry, "registerIssuer", issuer, h("vc2"), "ipfs://two")

    assert c.event(receipt, registry, "IssuerRegistered") == {
        "issuer": issuer,
        "vcHash": hx(h("vc2")),
        "ipfsHash": "ipfs://two",
    }
    assert registry.call("issuerOf", issuer) == (True, h("vc2"), "ipfs://two", c.block_time(receipt), 0)


def test_a_failed_registration_is_mined_with_status_0_and_changes_nothing(c, registry):
    issuer = c.account(1)
    c.send(registry, "registerIssuer", issuer, h("vc1"), "ipfs://one")
    receipt, err = c.send_failing(registry, "registerIssuer", issuer, h("vc2"), "ipfs://two")
    assert (err.name, err.args) == ("IssuerAlreadyRegistered", {"issuer": issuer})
    assert receipt["logs"] == []
    assert registry.call("issuerOf", issuer)[1:3] == (h("vc1"), "ipfs://one")
