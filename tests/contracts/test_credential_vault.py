"""CredentialVault: institutions, single credentials (issue / revoke / verify / expire) and Merkle
batches (anchor / revoke a leaf / verify proofs on chain for batches of 1, 2, 3, 256 and 1000)."""

from __future__ import annotations

import random

import pytest
from eth_abi import encode as abi_encode

from blockchain.chain.client import RpcError, rpc_batch
from blockchain.chain.merkle import MerkleTree, standard_leaf
from tests.contracts.helpers import OPERATOR_ROLE, ZERO32, ZERO_ADDRESS, addr, h, hx

pytestmark = [pytest.mark.chain]

KYC = h("KYC")
LEAF_TYPES = ["bytes32", "address", "bytes32", "uint64"]


@pytest.fixture
def vault(c):
    return c.contract("CredentialVault")


@pytest.fixture
def institution(c, vault):
    """An active institution (anvil account 2)."""
    account = c.account(2)
    c.send(vault, "upsertInstitution", account, "Bank A", "ipfs://bank-a", True, True)
    return account


def request(institution, subject, label, *, expires_at=0, credential_type=KYC, ref=None, fingerprint=None):
    """An IssueRequest tuple (institution, subject, credentialType, fingerprint, credentialRef, expiresAt)."""
    return (
        institution,
        subject,
        credential_type,
        fingerprint if fingerprint is not None else h(f"fp:{label}"),
        ref if ref is not None else h(f"ref:{label}"),
        expires_at,
    )


# ------------------------------------------------------------------ institutions


def test_upsert_institution_creates_then_replaces_the_record(c, vault):
    bank = c.account(2)
    assert vault.call("institutionOf", bank) == (False, False, False, "", "")
    receipt = c.send(vault, "upsertInstitution", bank, "Bank A", "ipfs://a", True, True)
    assert c.events(receipt, vault) == [
        (
            "InstitutionUpserted",
            {
                "institution": bank,
                "name": "Bank A",
                "metadataUri": "ipfs://a",
                "kycProvider": True,
                "active": True,
            },
        )
    ]
    assert vault.call("institutionOf", bank) == (True, True, True, "Bank A", "ipfs://a")

    receipt = c.send(vault, "upsertInstitution", bank, "Bank A2", "ipfs://a2", False, False)
    assert c.event(receipt, vault, "InstitutionUpserted") == {
        "institution": bank,
        "name": "Bank A2",
        "metadataUri": "ipfs://a2",
        "kycProvider": False,
        "active": False,
    }
    assert vault.call("institutionOf", bank) == (True, False, False, "Bank A2", "ipfs://a2")


def test_upsert_institution_reverts(c, vault):
    outsider = c.account(3)
    err = c.revert_of(vault, "upsertInstitution", outsider, "n", "u", False, True, sender=outsider)
    assert err.name == "AccessControlUnauthorizedAccount"
    assert err.args == {"account": outsider, "neededRole": hx(OPERATOR_ROLE)}
    err = c.revert_of(vault, "upsertInstitution", ZERO_ADDRESS, "n", "u", False, True)
    assert (err.name, err.args) == ("ZeroAddress", {})


# ------------------------------------------------------------------ single credentials


def test_issue_credential_by_the_operator(c, vault, institution):
    subject = c.account(5)
    expires = c.now() + 86_400
    req = request(institution, subject, "one", expires_at=expires)
    assert vault.call("issueCredential", req, sender=c.operator) == 1

    receipt = c.send(vault, "issueCredential", req)

    assert c.events(receipt, vault) == [
        (
            "CredentialIssued",
            {
                "id": 1,
                "institution": institution,
                "subject": subject,
                "credentialType": hx(KYC),
                "fingerprint": hx(h("fp:one")),
                "credentialRef": hx(h("ref:one")),
                "expiresAt": expires,
            },
        )
    ]
    issued_at = c.block_time(receipt)
    status = vault.call("credentialStatus", 1)
    assert status[:7] == (True, False, False, issued_at, 0, expires, h("fp:one"))
    assert (addr(status[7]), addr(status[8])) == (institution, subject)
    assert vault.call("verifyFingerprint", 1, h("fp:one")) is True
    assert vault.call("verifyFingerprint", 1, h("fp:other")) is False
    assert vault.call("verifyFingerprint", 2, h("fp:one")) is False
    assert vault.call("credentialIdOfFingerprint", h("fp:one")) == 1
    assert vault.call("credentialIdOfRef", h("ref:one")) == 1
    assert vault.call("credentialCount") == 1
    assert vault.call("credentialStatus", 2) == (
        False,
        False,
        False,
        0,
        0,
        0,
        ZERO32,
        ZERO_ADDRESS,
        ZERO_ADDRESS,
    )


def test_an_institution_issues_for_itself_while_active(c, vault, institution):
    receipt = c.send(vault, "issueCredential", request(institution, c.account(5), "self"), sender=institution)
    assert c.event(receipt, vault, "CredentialIssued")["institution"] == institution
    # ids are sequential across issuers
    other = c.account(3)
    c.send(vault, "upsertInstitution", other, "Bank B", "ipfs://b", False, True)
    receipt = c.send(vault, "issueCredential", request(other, c.account(5), "b"), sender=other)
    assert c.event(receipt, vault, "CredentialIssued")["id"] == 2
    # an institution cannot issue in another institution's name
    err = c.revert_of(vault, "issueCredential", request(institution, c.account(5), "x"), sender=other)
    assert (err.name, err.args) == ("NotAuthorized", {"account": other})


def test_issue_credential_reverts(c, vault, institution):
    subject, stranger = c.account(5), c.account(6)
    err = c.revert_of(vault, "issueCredential", request(institution, subject, "x"), sender=stranger)
    assert (err.name, err.args) == ("NotAuthorized", {"account": stranger})

    unknown = c.account(7)
    for sender in (c.operator, unknown):
        err = c.revert_of(vault, "issueCredential", request(unknown, subject, "x"), sender=sender)
        assert (err.name, err.args) == ("UnknownInstitution", {"institution": unknown})
    err = c.revert_of(vault, "issueCredential", request(ZERO_ADDRESS, subject, "x"))
    assert (err.name, err.args) == ("UnknownInstitution", {"institution": ZERO_ADDRESS})

    err = c.revert_of(vault, "issueCredential", request(institution, ZERO_ADDRESS, "x"))
    assert (err.name, err.args) == ("ZeroAddress", {})
    err = c.revert_of(vault, "issueCredential", request(institution, subject, "x", fingerprint=ZERO32))
    assert (err.name, err.args) == ("ZeroFingerprint", {})
    for past in (c.now(), c.now() - 1, 1):
        err = c.revert_of(vault, "issueCredential", request(institution, subject, "x", expires_at=past))
        assert (err.name, err.args) == ("ExpiryInPast", {"expiresAt": past})

    c.send(vault, "issueCredential", request(institution, subject, "x"))
    # fingerprint reuse (with a fresh ref), then ref reuse (with a fresh fingerprint)
    err = c.revert_of(vault, "issueCredential", request(institution, c.account(8), "x", ref=h("fresh")))
    assert (err.name, err.args) == ("FingerprintUsed", {"fingerprint": hx(h("fp:x"))})
    err = c.revert_of(vault, "issueCredential", request(institution, subject, "x", fingerprint=h("fresh")))
    assert (err.name, err.args) == ("CredentialRefUsed", {"credentialRef": hx(h("ref:x"))})
    _receipt, err = c.send_failing(
        vault, "issueCredential", request(institution, subject, "x", ref=h("fresh"))
    )
    assert err.name == "FingerprintUsed"
    assert vault.call("credentialCount") == 1

    c.send(vault, "upsertInstitution", institution, "Bank A", "ipfs://bank-a", True, False)
    for sender in (c.operator, institution):
        err = c.revert_of(vault, "issueCredential", request(institution, subject, "y"), sender=sender)
        assert (err.name, err.args) == ("InstitutionInactive", {"institution": institution})


def test_revoke_credential_by_the_operator_and_by_the_institution(c, vault, institution):
    subject = c.account(5)
    issued = c.send(vault, "issueCredential", request(institution, subject, "a"))
    c.send(vault, "issueCredential", request(institution, subject, "b"))

    receipt = c.send(vault, "revokeCredential", 1, h("reason-a"))
    assert c.events(receipt, vault) == [
        ("CredentialRevoked", {"id": 1, "institution": institution, "reasonHash": hx(h("reason-a"))})
    ]
    status = vault.call("credentialStatus", 1)
    assert status[:5] == (True, True, False, c.block_time(issued), c.block_time(receipt))
    assert vault.call("verifyFingerprint", 1, h("fp:a")) is False

    receipt = c.send(vault, "revokeCredential", 2, h("reason-b"), sender=institution)
    assert c.event(receipt, vault, "CredentialRevoked") == {
        "id": 2,
        "institution": institution,
        "reasonHash": hx(h("reason-b")),
    }
    # a revoked fingerprint stays anchored: it cannot be issued again
    err = c.revert_of(vault, "issueCredential", request(institution, subject, "a", ref=h("new")))
    assert (err.name, err.args) == ("FingerprintUsed", {"fingerprint": hx(h("fp:a"))})


def test_revoke_credential_reverts(c, vault, institution):
    stranger = c.account(6)
    for missing in (0, 1, 10**9):
        err = c.revert_of(vault, "revokeCredential", missing, ZERO32)
        assert (err.name, err.args) == ("UnknownCredential", {"id": missing})
    c.send(vault, "issueCredential", request(institution, c.account(5), "a"))
    c.send(vault, "issueCredential", request(institution, c.account(5), "b"))
    err = c.revert_of(vault, "revokeCredential", 1, ZERO32, sender=stranger)
    assert (err.name, err.args) == ("NotAuthorized", {"account": stranger})
    other_bank = c.account(7)  # an active institution cannot revoke another one's credentials
    c.send(vault, "upsertInstitution", other_bank, "Bank B", "ipfs://b", False, True)
    err = c.revert_of(vault, "revokeCredential", 1, ZERO32, sender=other_bank)
    assert (err.name, err.args) == ("NotAuthorized", {"account": other_bank})

    c.send(vault, "revokeCredential", 1, ZERO32)
    for sender in (c.operator, institution):
        err = c.revert_of(vault, "revokeCredential", 1, ZERO32, sender=sender)
        assert (err.name, err.args) == ("CredentialAlreadyRevoked", {"id": 1})

    # an inactive institution cannot revoke its own credentials; the operator still can
    c.send(vault, "upsertInstitution", institution, "Bank A", "ipfs://bank-a", True, False)
    err = c.revert_of(vault, "revokeCredential", 2, ZERO32, sender=institution)
    assert (err.name, err.args) == ("InstitutionInactive", {"institution": institution})
    c.send(vault, "revokeCredential", 2, h("closed"))
    assert vault.call("credentialStatus", 2)[1] is True


def test_a_credential_expires_at_its_expiry(c, vault, institution):
    expires = c.now() + 1_000
    c.send(vault, "issueCredential", request(institution, c.account(5), "e", expires_at=expires))
    c.send(vault, "issueCredential", request(institution, c.account(5), "forever"))
    assert vault.call("verifyFingerprint", 1, h("fp:e")) is True

    c.set_next_timestamp(expires - 1)
    c.node.mine(1)
    assert vault.call("credentialStatus", 1)[2] is False
    c.set_next_timestamp(expires)
    c.node.mine(1)
    assert vault.call("credentialStatus", 1)[2] is True  # expired at expiresAt itself
    assert vault.call("verifyFingerprint", 1, h("fp:e")) is False
    c.increase_time(10 * 365 * 86_400)
    assert vault.call("verifyFingerprint", 2, h("fp:forever")) is True  # expiresAt 0 never expires
    assert vault.call("credentialStatus", 2)[2] is False


# ------------------------------------------------------------------ Merkle batches: anchoring


def test_anchor_batch_by_the_operator_and_by_the_institution(c, vault, institution):
    receipt = c.send(vault, "anchorBatch", h("root-1"), 7, institution)
    assert c.events(receipt, vault) == [
        ("BatchAnchored", {"root": hx(h("root-1")), "institution": institution, "count": 7, "batchId": 1})
    ]
    anchored, batch_id, inst, count, anchored_at = vault.call("batchOf", h("root-1"))
    assert (anchored, batch_id, addr(inst), count, anchored_at) == (
        True,
        1,
        institution,
        7,
        c.block_time(receipt),
    )

    receipt = c.send(vault, "anchorBatch", h("root-2"), 2**32 - 1, institution, sender=institution)
    assert c.event(receipt, vault, "BatchAnchored") == {
        "root": hx(h("root-2")),
        "institution": institution,
        "count": 2**32 - 1,
        "batchId": 2,
    }
    assert vault.call("batchCount") == 2
    assert vault.call("batchOf", h("never")) == (False, 0, ZERO_ADDRESS, 0, 0)


def test_anchor_batch_reverts(c, vault, institution):
    stranger = c.account(6)
    err = c.revert_of(vault, "anchorBatch", h("r"), 1, institution, sender=stranger)
    assert (err.name, err.args) == ("NotAuthorized", {"account": stranger})
    err = c.revert_of(vault, "anchorBatch", ZERO32, 1, institution)
    assert (err.name, err.args) == ("ZeroRoot", {})
    err = c.revert_of(vault, "anchorBatch", h("r"), 0, institution)
    assert (err.name, err.args) == ("EmptyBatch", {})
    unknown = c.account(7)
    err = c.revert_of(vault, "anchorBatch", h("r"), 1, unknown, sender=unknown)
    assert (err.name, err.args) == ("UnknownInstitution", {"institution": unknown})

    c.send(vault, "anchorBatch", h("r"), 1, institution)
    err = c.revert_of(vault, "anchorBatch", h("r"), 5, institution, sender=institution)
    assert (err.name, err.args) == ("BatchAlreadyAnchored", {"root": hx(h("r"))})
    receipt, err = c.send_failing(vault, "anchorBatch", h("r"), 5, institution)
    assert err.name == "BatchAlreadyAnchored" and receipt["logs"] == []
    assert vault.call("batchOf", h("r"))[3] == 1  # the first anchoring stands

    c.send(vault, "upsertInstitution", institution, "Bank A", "ipfs://bank-a", True, False)
    for sender in (c.operator, institution):
        err = c.revert_of(vault, "anchorBatch", h("r2"), 1, institution, sender=sender)
        assert (err.name, err.args) == ("InstitutionInactive", {"institution": institution})


def test_revoke_batch_leaf_and_its_reverts(c, vault, institution):
    stranger = c.account(6)
    err = c.revert_of(vault, "revokeBatchLeaf", h("root"), h("leaf"), ZERO32)
    assert (err.name, err.args) == ("UnknownBatch", {"root": hx(h("root"))})
    c.send(vault, "anchorBatch", h("root"), 3, institution)
    err = c.revert_of(vault, "revokeBatchLeaf", h("root"), h("leaf"), ZERO32, sender=stranger)
    assert (err.name, err.args) == ("NotAuthorized", {"account": stranger})
    other_bank = c.account(7)
    c.send(vault, "upsertInstitution", other_bank, "Bank B", "ipfs://b", False, True)
    err = c.revert_of(vault, "revokeBatchLeaf", h("root"), h("leaf"), ZERO32, sender=other_bank)
    assert (err.name, err.args) == ("NotAuthorized", {"account": other_bank})
    err = c.revert_of(vault, "anchorBatch", h("root-b"), 1, institution, sender=other_bank)
    assert (err.name, err.args) == ("NotAuthorized", {"account": other_bank})

    receipt = c.send(vault, "revokeBatchLeaf", h("root"), h("leaf"), h("why"))
    assert c.events(receipt, vault) == [
        (
            "BatchLeafRevoked",
            {
                "root": hx(h("root")),
                "leaf": hx(h("leaf")),
                "institution": institution,
                "reasonHash": hx(h("why")),
            },
        )
    ]
    assert vault.call("isLeafRevoked", h("root"), h("leaf")) is True
    assert vault.call("isLeafRevoked", h("root"), h("leaf2")) is False
    err = c.revert_of(vault, "revokeBatchLeaf", h("root"), h("leaf"), ZERO32, sender=institution)
    assert (err.name, err.args) == ("LeafAlreadyRevoked", {"root": hx(h("root")), "leaf": hx(h("leaf"))})

    c.send(vault, "revokeBatchLeaf", h("root"), h("leaf2"), ZERO32, sender=institution)
    c.send(vault, "upsertInstitution", institution, "Bank A", "ipfs://bank-a", True, False)
    err = c.revert_of(vault, "revokeBatchLeaf", h("root"), h("leaf3"), ZERO32, sender=institution)
    assert (err.name, err.args) == ("InstitutionInactive", {"institution": institution})
    c.send(vault, "revokeBatchLeaf", h("root"), h("leaf3"), ZERO32)  # the operator still can
    assert vault.call("isLeafRevoked", h("root"), h("leaf3")) is True


# ------------------------------------------------------------------ Merkle batches: proofs on chain


def batch_credentials(c, size: int, *, label: str, expires_at: int = 0) -> list[tuple]:
    subjects = [c.account(1 + i % 9) for i in range(size)]
    return [
        (h(f"{label}:fp:{i}"), subjects[i], KYC if i % 2 else h("ACCREDITED"), expires_at)
        for i in range(size)
    ]


def verify_many(c, vault, root: bytes, items: list[tuple], proofs: list[list[bytes]]) -> list[tuple]:
    """verifyBatchCredential for each item, in one JSON-RPC batch."""
    calls = [
        (
            "eth_call",
            [
                {"to": vault.address, "data": hx(vault.encode("verifyBatchCredential", root, *item, proof))},
                "latest",
            ],
        )
        for item, proof in zip(items, proofs, strict=True)
    ]
    results = rpc_batch(c.w3, calls)
    assert not any(isinstance(r, RpcError) for r in results), results
    return [vault.interface.decode_output("verifyBatchCredential", bytes.fromhex(r[2:])) for r in results]


def leaves_on_chain(c, vault, items: list[tuple]) -> list[bytes]:
    calls = [
        ("eth_call", [{"to": vault.address, "data": hx(vault.encode("batchLeaf", *item))}, "latest"])
        for item in items
    ]
    return [bytes.fromhex(r[2:]) for r in rpc_batch(c.w3, calls)]


@pytest.mark.parametrize("size", [1, 2, 3, 256, 1000])
def test_merkle_batch_proofs_verify_on_chain(c, vault, institution, size):
    items = batch_credentials(c, size, label=f"batch{size}")
    leaves = [standard_leaf(LEAF_TYPES, list(item)) for item in items]
    tree = MerkleTree.from_leaves(leaves)
    receipt = c.send(vault, "anchorBatch", tree.root, size, institution, sender=institution)
    assert c.event(receipt, vault, "BatchAnchored")["count"] == size

    rng = random.Random(size)
    # every leaf up to 256; for 1000, the first, the last and ten random ones
    sample = list(range(size)) if size <= 256 else sorted({0, size - 1, *rng.sample(range(size), 10)})
    picked = [items[i] for i in sample]
    assert leaves_on_chain(c, vault, picked) == [leaves[i] for i in sample]  # Python leaf == batchLeaf
    proofs = [tree.proof(leaves[i]) for i in sample]
    if size == 1:
        assert tree.root == leaves[0] and proofs == [[]]
    assert verify_many(c, vault, tree.root, picked, proofs) == [(True, False, False)] * len(sample)

    # a wrong proof, a proof for another leaf, a tampered field, an unanchored root: all invalid
    wrong = [h("junk")] * max(1, len(proofs[0]))
    tampered = (
        items[sample[0]][0],
        c.account(9) if items[sample[0]][1] != c.account(9) else c.account(8),
        *items[sample[0]][2:],
    )
    checks = [
        (tree.root, picked[0], wrong),
        (tree.root, tampered, proofs[0]),
        (h("not-anchored"), picked[0], proofs[0]),
    ]
    if len(sample) > 1:
        checks.append((tree.root, picked[0], proofs[-1]))
    for root, item, proof in checks:
        assert vault.call("verifyBatchCredential", root, *item, proof) == (False, False, False)


def test_a_revoked_leaf_fails_verification_and_its_neighbours_do_not(c, vault, institution):
    items = batch_credentials(c, 3, label="rev")
    leaves = [vault.call("batchLeaf", *item) for item in items]
    tree = MerkleTree.from_leaves(leaves)
    c.send(vault, "anchorBatch", tree.root, 3, institution)

    receipt = c.send(vault, "revokeBatchLeaf", tree.root, leaves[1], h("fraud"), sender=institution)
    assert c.event(receipt, vault, "BatchLeafRevoked")["leaf"] == hx(leaves[1])
    results = [
        vault.call("verifyBatchCredential", tree.root, *item, tree.proof(leaf))
        for item, leaf in zip(items, leaves, strict=True)
    ]
    assert results == [(True, False, False), (False, True, False), (True, False, False)]
    # revocation is per batch: the same leaf under another root is not revoked
    assert vault.call("isLeafRevoked", h("other-root"), leaves[1]) is False


def test_an_expired_batch_credential_is_invalid(c, vault, institution):
    expires = c.now() + 500
    items = batch_credentials(c, 4, label="exp", expires_at=expires)
    items[3] = (*items[3][:3], 0)  # one that never expires
    leaves = [standard_leaf(LEAF_TYPES, list(item)) for item in items]
    tree = MerkleTree.from_leaves(leaves)
    c.send(vault, "anchorBatch", tree.root, 4, institution)
    proofs = [tree.proof(leaf) for leaf in leaves]
    assert verify_many(c, vault, tree.root, items, proofs) == [(True, False, False)] * 4

    c.increase_time(500)
    assert verify_many(c, vault, tree.root, items, proofs) == [(False, False, True)] * 3 + [
        (True, False, False)
    ]
    c.send(vault, "revokeBatchLeaf", tree.root, leaves[0], ZERO32)
    assert vault.call("verifyBatchCredential", tree.root, *items[0], proofs[0]) == (False, True, True)


def test_batch_leaf_is_the_documented_double_hash(vault, c):
    from eth_utils import keccak

    item = (h("fp"), c.account(5), KYC, 1_700_000_000)
    inner = keccak(abi_encode(LEAF_TYPES, list(item)))
    assert vault.call("batchLeaf", *item) == keccak(inner) == standard_leaf(LEAF_TYPES, list(item))
