"""Merkle trees: every leaf's proof verifies against the root; anything else does not."""

import pytest
from eth_utils import keccak

from blockchain.chain.merkle import MerkleTree, hash_pair, standard_leaf, verify_proof


def leaves(n: int) -> list[bytes]:
    return [standard_leaf(["uint256"], [i]) for i in range(n)]


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 256, 1000])
def test_every_leaf_proves_membership(size):
    items = leaves(size)
    tree = MerkleTree.from_leaves(items)
    for leaf in items:
        assert verify_proof(root=tree.root, leaf=leaf, proof=tree.proof(leaf))


def test_single_leaf_tree_root_is_the_leaf_and_proof_is_empty():
    (leaf,) = leaves(1)
    tree = MerkleTree.from_leaves([leaf])
    assert tree.root == leaf
    assert tree.proof(leaf) == []


def test_two_leaf_root_is_the_sorted_pair_hash():
    a, b = leaves(2)
    assert MerkleTree.from_leaves([a, b]).root == keccak(min(a, b) + max(a, b))
    assert hash_pair(a, b) == hash_pair(b, a)


def test_root_does_not_depend_on_input_order():
    items = leaves(9)
    assert MerkleTree.from_leaves(items).root == MerkleTree.from_leaves(list(reversed(items))).root


def test_wrong_proof_or_foreign_leaf_fails():
    items = leaves(8)
    tree = MerkleTree.from_leaves(items)
    proof = tree.proof(items[0])
    assert not verify_proof(root=tree.root, leaf=items[1], proof=proof)
    outsider = standard_leaf(["uint256"], [999])
    assert not verify_proof(root=tree.root, leaf=outsider, proof=proof)
    with pytest.raises(KeyError):
        tree.proof(outsider)


def test_standard_leaf_is_double_keccak_of_abi_encoding():
    from eth_abi import encode

    assert standard_leaf(["uint256"], [7]) == keccak(keccak(encode(["uint256"], [7])))


@pytest.mark.parametrize("bad", [[], [b"short"]])
def test_bad_leaves_are_refused(bad):
    with pytest.raises(ValueError):
        MerkleTree.from_leaves(bad)


def test_duplicate_leaves_are_refused():
    (leaf,) = leaves(1)
    with pytest.raises(ValueError, match="duplicate"):
        MerkleTree.from_leaves([leaf, leaf])
