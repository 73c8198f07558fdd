"""ShareCertificate: minting (single and batch) under write-once refs, without a receiver callback,
and ERC-721 conformance: interfaces, approvals, transfers, safe transfers to accepting and rejecting
contracts."""

from __future__ import annotations

import pytest

from tests.contracts.helpers import (
    ACCEPTING_RECEIVER_CODE,
    OPERATOR_ROLE,
    WRONG_RECEIVER_CODE,
    ZERO_ADDRESS,
    addr,
    h,
    hx,
)

pytestmark = [pytest.mark.chain]

SAFE_TRANSFER = "safeTransferFrom(address,address,uint256)"
SAFE_TRANSFER_DATA = "safeTransferFrom(address,address,uint256,bytes)"


@pytest.fixture
def certs(c):
    return c.contract("ShareCertificate")


@pytest.fixture
def campaign_address(c):
    return c.account(9)  # the certificate only records the address of the campaign


@pytest.fixture
def minted(c, certs, campaign_address):
    """Token 1 (10 shares) owned by account 1."""
    c.send(certs, "mint", h("cert-1"), c.account(1), campaign_address, 10, "ipfs://cert-1")
    return 1


# ------------------------------------------------------------------ minting


def test_mint_records_the_certificate_and_emits_in_order(c, certs, campaign_address):
    holder = c.account(1)
    assert certs.call("mint", h("cert-1"), holder, campaign_address, 10, "ipfs://c1", sender=c.operator) == 1

    receipt = c.send(certs, "mint", h("cert-1"), holder, campaign_address, 10, "ipfs://c1")

    assert c.events(receipt, certs) == [
        ("MetadataUpdate", {"_tokenId": 1}),
        (
            "CertificateMinted",
            {
                "tokenId": 1,
                "certificateRef": hx(h("cert-1")),
                "campaign": campaign_address,
                "owner": holder,
                "shares": 10,
                "uri": "ipfs://c1",
            },
        ),
        ("Transfer", {"from": ZERO_ADDRESS, "to": holder, "tokenId": 1}),
    ]
    assert addr(certs.call("ownerOf", 1)) == holder
    assert certs.call("balanceOf", holder) == 1
    assert certs.call("tokenURI", 1) == "ipfs://c1"
    campaign, shares, ref = certs.call("certificateOf", 1)
    assert (addr(campaign), shares, ref) == (campaign_address, 10, h("cert-1"))
    assert certs.call("tokenIdOfRef", h("cert-1")) == 1
    assert certs.call("tokenIdOfRef", h("other")) == 0
    assert certs.call("totalMinted") == 1
    assert certs.call("certificateOf", 2) == (ZERO_ADDRESS, 0, b"\0" * 32)

    c.send(certs, "mint", h("cert-2"), holder, campaign_address, 2**96 - 1, "ipfs://c2")
    assert certs.call("certificateOf", 2)[1] == 2**96 - 1
    assert (certs.call("totalMinted"), certs.call("balanceOf", holder)) == (2, 2)


def test_mint_reverts(c, certs, campaign_address):
    holder, outsider = c.account(1), c.account(2)
    args = (h("ref"), holder, campaign_address, 10, "u")
    err = c.revert_of(certs, "mint", *args, sender=outsider)
    assert err.name == "AccessControlUnauthorizedAccount"
    assert err.args == {"account": outsider, "neededRole": hx(OPERATOR_ROLE)}

    err = c.revert_of(certs, "mint", h("ref"), holder, ZERO_ADDRESS, 10, "u")
    assert (err.name, err.args) == ("ZeroAddress", {})
    err = c.revert_of(certs, "mint", h("ref"), ZERO_ADDRESS, campaign_address, 10, "u")
    assert (err.name, err.args) == ("ZeroAddress", {})
    err = c.revert_of(certs, "mint", h("ref"), holder, campaign_address, 0, "u")
    assert (err.name, err.args) == ("ZeroShares", {})
    err = c.revert_of(certs, "mint", h("ref"), holder, campaign_address, 2**96, "u")
    assert (err.name, err.args) == ("SafeCastOverflowedUintDowncast", {"bits": 96, "value": 2**96})

    c.send(certs, "mint", *args)
    err = c.revert_of(certs, "mint", h("ref"), c.account(3), campaign_address, 5, "v")
    assert (err.name, err.args) == ("CertificateRefUsed", {"certificateRef": hx(h("ref"))})
    receipt, err = c.send_failing(certs, "mint", h("ref"), c.account(3), campaign_address, 5, "v")
    assert err.name == "CertificateRefUsed" and receipt["logs"] == []
    assert certs.call("totalMinted") == 1


def test_mint_batch_mints_every_item_in_order(c, certs, campaign_address):
    holders = [c.account(1), c.account(2), c.account(1)]
    refs = [h(f"b{i}") for i in range(3)]
    receipt = c.send(
        certs, "mintBatch", refs, holders, campaign_address, [1, 2, 3], ["ipfs://0", "ipfs://1", "ipfs://2"]
    )
    minted = [args for name, args in c.events(receipt, certs) if name == "CertificateMinted"]
    assert minted == [
        {
            "tokenId": i + 1,
            "certificateRef": hx(refs[i]),
            "campaign": campaign_address,
            "owner": holders[i],
            "shares": i + 1,
            "uri": f"ipfs://{i}",
        }
        for i in range(3)
    ]
    transfers = [args for name, args in c.events(receipt, certs) if name == "Transfer"]
    assert transfers == [{"from": ZERO_ADDRESS, "to": holders[i], "tokenId": i + 1} for i in range(3)]
    assert [certs.call("tokenIdOfRef", r) for r in refs] == [1, 2, 3]
    assert certs.call("balanceOf", c.account(1)) == 2
    assert certs.call("tokenURI", 3) == "ipfs://2"


def test_mints_never_ask_the_receiver(c, certs, campaign_address):
    """A holder whose code rejects ERC-721 (or has no onERC721Received) still gets its certificate:
    one receiver cannot revert a platform mint or a batch (issue #20)."""
    rejecting = c.suite["LoanRegistry"]  # a contract without onERC721Received
    wrong = c.account(8)
    c.set_code(wrong, WRONG_RECEIVER_CODE)  # answers with the wrong selector
    c.send(certs, "mint", h("single"), rejecting, campaign_address, 10, "u")
    holders = [c.account(1), rejecting, wrong]
    c.send(
        certs, "mintBatch", [h(f"b{i}") for i in range(3)], holders, campaign_address, [1, 2, 3], ["u"] * 3
    )
    assert [addr(certs.call("ownerOf", token)) for token in (1, 2, 3, 4)] == [rejecting, *holders]
    # the holder's own safe transfer to a rejecting contract still reverts
    err = c.revert_of(certs, SAFE_TRANSFER, holders[0], rejecting, 2, sender=holders[0])
    assert (err.name, err.args) == ("ERC721InvalidReceiver", {"receiver": rejecting})


def test_mint_batch_reverts(c, certs, campaign_address):
    a, b = c.account(1), c.account(2)
    outsider = c.account(3)
    err = c.revert_of(certs, "mintBatch", [h("x")], [a], campaign_address, [1], ["u"], sender=outsider)
    assert err.name == "AccessControlUnauthorizedAccount"
    assert err.args == {"account": outsider, "neededRole": hx(OPERATOR_ROLE)}

    bad_lengths = [
        ([h("x"), h("y")], [a], [1, 1], ["u", "v"]),
        ([h("x"), h("y")], [a, b], [1], ["u", "v"]),
        ([h("x"), h("y")], [a, b], [1, 1], ["u"]),
        ([h("x")], [a, b], [1, 1], ["u", "v"]),
    ]
    for refs, to, shares, uris in bad_lengths:
        err = c.revert_of(certs, "mintBatch", refs, to, campaign_address, shares, uris)
        assert (err.name, err.args) == ("LengthMismatch", {})
    err = c.revert_of(certs, "mintBatch", [], [], campaign_address, [], [])
    assert (err.name, err.args) == ("EmptyBatch", {})
    err = c.revert_of(certs, "mintBatch", [h("x")], [a], ZERO_ADDRESS, [1], ["u"])
    assert (err.name, err.args) == ("ZeroAddress", {})
    err = c.revert_of(
        certs, "mintBatch", [h("x"), h("y")], [a, ZERO_ADDRESS], campaign_address, [1, 1], ["u", "v"]
    )
    assert (err.name, err.args) == ("ZeroAddress", {})
    err = c.revert_of(certs, "mintBatch", [h("x"), h("y")], [a, b], campaign_address, [1, 0], ["u", "v"])
    assert (err.name, err.args) == ("ZeroShares", {})
    # a ref repeated inside one batch, and a ref minted before
    err = c.revert_of(certs, "mintBatch", [h("x"), h("x")], [a, b], campaign_address, [1, 1], ["u", "v"])
    assert (err.name, err.args) == ("CertificateRefUsed", {"certificateRef": hx(h("x"))})
    c.send(certs, "mint", h("y"), a, campaign_address, 1, "u")
    err = c.revert_of(certs, "mintBatch", [h("x"), h("y")], [a, b], campaign_address, [1, 1], ["u", "v"])
    assert (err.name, err.args) == ("CertificateRefUsed", {"certificateRef": hx(h("y"))})
    # nothing of a failed batch stays minted
    c.send_failing(certs, "mintBatch", [h("x"), h("y")], [a, b], campaign_address, [1, 1], ["u", "v"])
    assert certs.call("tokenIdOfRef", h("x")) == 0
    assert certs.call("totalMinted") == 1


# ------------------------------------------------------------------ ERC-721 conformance


def test_supports_interface(certs):
    for interface_id, expected in [
        ("01ffc9a7", True),  # ERC-165
        ("80ac58cd", True),  # ERC-721
        ("5b5e139f", True),  # ERC-721 Metadata
        ("49064906", True),  # ERC-4906 metadata updates
        ("7965db0b", True),  # IAccessControl
        ("780e9d63", False),  # ERC-721 Enumerable is not implemented
        ("ffffffff", False),  # ERC-165 requires false
    ]:
        assert certs.call("supportsInterface", bytes.fromhex(interface_id)) is expected, interface_id
    assert certs.call("name") == "LedgerBridge Share Certificate"
    assert certs.call("symbol") == "LBSC"


def test_owner_transfers_and_the_transfer_event(c, certs, minted):
    owner, other = c.account(1), c.account(2)
    receipt = c.send(certs, "transferFrom", owner, other, minted, sender=owner)
    assert c.events(receipt, certs) == [("Transfer", {"from": owner, "to": other, "tokenId": minted})]
    assert addr(certs.call("ownerOf", minted)) == other
    assert (certs.call("balanceOf", owner), certs.call("balanceOf", other)) == (0, 1)
    # the certificate data travels with the token
    assert certs.call("certificateOf", minted)[1] == 10


def test_approve_get_approved_and_transfer_by_the_approved_address(c, certs, minted):
    owner, approved, receiver = c.account(1), c.account(2), c.account(3)
    assert certs.call("getApproved", minted) == ZERO_ADDRESS
    receipt = c.send(certs, "approve", approved, minted, sender=owner)
    assert c.events(receipt, certs) == [
        ("Approval", {"owner": owner, "approved": approved, "tokenId": minted})
    ]
    assert addr(certs.call("getApproved", minted)) == approved

    receipt = c.send(certs, "transferFrom", owner, receiver, minted, sender=approved)
    assert c.events(receipt, certs) == [("Transfer", {"from": owner, "to": receiver, "tokenId": minted})]
    assert addr(certs.call("ownerOf", minted)) == receiver
    assert certs.call("getApproved", minted) == ZERO_ADDRESS  # cleared by the transfer
    err = c.revert_of(certs, "transferFrom", receiver, owner, minted, sender=approved)
    assert (err.name, err.args) == ("ERC721InsufficientApproval", {"operator": approved, "tokenId": minted})


def test_set_approval_for_all_and_transfer_by_the_operator(c, certs, minted, campaign_address):
    owner, operator, receiver = c.account(1), c.account(4), c.account(3)
    c.send(certs, "mint", h("cert-2"), owner, campaign_address, 5, "ipfs://2")
    assert certs.call("isApprovedForAll", owner, operator) is False
    receipt = c.send(certs, "setApprovalForAll", operator, True, sender=owner)
    assert c.events(receipt, certs) == [
        ("ApprovalForAll", {"owner": owner, "operator": operator, "approved": True})
    ]
    assert certs.call("isApprovedForAll", owner, operator) is True

    c.send(certs, "transferFrom", owner, receiver, 1, sender=operator)
    c.send(certs, "approve", receiver, 2, sender=operator)  # an operator may also approve
    assert addr(certs.call("getApproved", 2)) == receiver
    c.send(certs, "transferFrom", owner, receiver, 2, sender=receiver)
    assert certs.call("balanceOf", receiver) == 2

    receipt = c.send(certs, "setApprovalForAll", operator, False, sender=owner)
    assert c.events(receipt, certs) == [
        ("ApprovalForAll", {"owner": owner, "operator": operator, "approved": False})
    ]
    assert certs.call("isApprovedForAll", owner, operator) is False


def test_unapproved_and_malformed_transfers_revert(c, certs, minted):
    owner, stranger, receiver = c.account(1), c.account(2), c.account(3)
    for function in ("transferFrom", SAFE_TRANSFER):
        err = c.revert_of(certs, function, owner, receiver, minted, sender=stranger)
        assert (err.name, err.args) == (
            "ERC721InsufficientApproval",
            {"operator": stranger, "tokenId": minted},
        )
    _receipt, err = c.send_failing(certs, "transferFrom", owner, receiver, minted, sender=stranger)
    assert err.name == "ERC721InsufficientApproval"
    assert addr(certs.call("ownerOf", minted)) == owner

    err = c.revert_of(certs, "transferFrom", stranger, receiver, minted, sender=owner)
    assert (err.name, err.args) == (
        "ERC721IncorrectOwner",
        {"sender": stranger, "tokenId": minted, "owner": owner},
    )
    err = c.revert_of(certs, "transferFrom", owner, ZERO_ADDRESS, minted, sender=owner)
    assert (err.name, err.args) == ("ERC721InvalidReceiver", {"receiver": ZERO_ADDRESS})
    err = c.revert_of(certs, "transferFrom", owner, receiver, 99, sender=owner)
    assert (err.name, err.args) == ("ERC721NonexistentToken", {"tokenId": 99})
    err = c.revert_of(certs, "approve", stranger, minted, sender=stranger)
    assert (err.name, err.args) == ("ERC721InvalidApprover", {"approver": stranger})
    err = c.revert_of(certs, "approve", stranger, 99, sender=owner)
    assert (err.name, err.args) == ("ERC721NonexistentToken", {"tokenId": 99})
    err = c.revert_of(certs, "setApprovalForAll", ZERO_ADDRESS, True, sender=owner)
    assert (err.name, err.args) == ("ERC721InvalidOperator", {"operator": ZERO_ADDRESS})
    # the operator role grants no power over holders' tokens
    err = c.revert_of(certs, "transferFrom", owner, receiver, minted, sender=c.operator)
    assert (err.name, err.args) == ("ERC721InsufficientApproval", {"operator": c.operator, "tokenId": minted})


def test_views_revert_for_nonexistent_tokens_and_the_zero_owner(c, certs, minted):
    from blockchain.chain.bindings import ContractRevert

    for function in ("ownerOf", "tokenURI", "getApproved"):
        with pytest.raises(ContractRevert) as info:
            certs.call(function, 99)
        assert (info.value.error.name, info.value.error.args) == ("ERC721NonexistentToken", {"tokenId": 99})
    with pytest.raises(ContractRevert) as info:
        certs.call("balanceOf", ZERO_ADDRESS)
    assert (info.value.error.name, info.value.error.args) == ("ERC721InvalidOwner", {"owner": ZERO_ADDRESS})


def test_safe_transfer_to_an_eoa_and_an_accepting_contract(c, certs, minted):
    owner, eoa = c.account(1), c.account(2)
    c.send(certs, SAFE_TRANSFER, owner, eoa, minted, sender=owner)
    assert addr(certs.call("ownerOf", minted)) == eoa

    receiver = c.account(8)
    c.set_code(receiver, ACCEPTING_RECEIVER_CODE)
    receipt = c.send(certs, SAFE_TRANSFER_DATA, eoa, receiver, minted, b"hello", sender=eoa)
    assert c.events(receipt, certs) == [("Transfer", {"from": eoa, "to": receiver, "tokenId": minted})]
    assert addr(certs.call("ownerOf", minted)) == receiver


def test_safe_transfer_to_a_rejecting_contract_reverts(c, certs, minted):
    owner = c.account(1)
    rejecting = c.suite["LoanRegistry"]  # has code, no onERC721Received
    for function, extra in ((SAFE_TRANSFER, ()), (SAFE_TRANSFER_DATA, (b"data",))):
        err = c.revert_of(certs, function, owner, rejecting, minted, *extra, sender=owner)
        assert (err.name, err.args) == ("ERC721InvalidReceiver", {"receiver": rejecting})
    wrong = c.account(8)
    c.set_code(wrong, WRONG_RECEIVER_CODE)  # answers with the wrong selector
    err = c.revert_of(certs, SAFE_TRANSFER, owner, wrong, minted, sender=owner)
    assert (err.name, err.args) == ("ERC721InvalidReceiver", {"receiver": wrong})
    _receipt, err = c.send_failing(certs, SAFE_TRANSFER, owner, rejecting, minted, sender=owner)
    assert err.name == "ERC721InvalidReceiver"
    assert addr(certs.call("ownerOf", minted)) == owner
    # plain transferFrom does not ask the receiver
    c.send(certs, "transferFrom", owner, rejecting, minted, sender=owner)
    assert addr(certs.call("ownerOf", minted)) == rejecting


# ------------------------------------------------------------------ metadata (wallets show the certificate)


def test_token_uri_is_the_platforms_metadata_document_unless_minted_with_its_own(c, certs, campaign_address):
    from django.conf import settings

    base = certs.call("metadataBase")
    assert base == settings.CERTIFICATE_METADATA_BASE_URL and base.endswith("/api/certificates/")
    holder = c.account(1)
    c.send(certs, "mint", h("plain"), holder, campaign_address, 5, "")
    c.send(certs, "mint", h("own"), holder, campaign_address, 5, "ipfs://own")
    plain, own = certs.call("tokenIdOfRef", h("plain")), certs.call("tokenIdOfRef", h("own"))
    assert certs.call("tokenURI", plain) == f"{base}{plain}/metadata.json"
    assert certs.call("tokenURI", own) == "ipfs://own"

    receipt = c.send(certs, "setMetadataBase", "https://shares.example/api/certificates/")
    total = certs.call("totalMinted")
    assert c.events(receipt, certs) == [
        ("MetadataBaseChanged", {"base": "https://shares.example/api/certificates/"}),
        ("BatchMetadataUpdate", {"_fromTokenId": 1, "_toTokenId": total}),  # ERC-4906: wallets refetch
    ]
    assert certs.call("tokenURI", plain) == f"https://shares.example/api/certificates/{plain}/metadata.json"
    assert certs.call("tokenURI", own) == "ipfs://own"

    c.send(certs, "setMetadataBase", "")
    assert certs.call("tokenURI", plain) == ""  # no base, no own URI: none, as ERC-721 allows


def test_only_the_admin_moves_the_metadata_and_unknown_tokens_have_no_uri(c, certs):
    outsider = c.account(2)
    err = c.revert_of(certs, "setMetadataBase", "https://evil.example/", sender=outsider)
    assert err.name == "AccessControlUnauthorizedAccount"
    assert err.args == {"account": outsider, "neededRole": "0x" + "00" * 32}
    err = c.revert_of(certs, "tokenURI", 10_000)
    assert (err.name, err.args) == ("ERC721NonexistentToken", {"tokenId": 10_000})
