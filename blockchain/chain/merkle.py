"""Merkle trees compatible with OpenZeppelin's StandardMerkleTree and `MerkleProof.verify`.

Layout (as @openzeppelin/merkle-tree builds it, so proofs interoperate with its JS tooling): leaves
are sorted by hash and stored at the end of an array in reverse order; node i hashes its children
2i+1 and 2i+2 as a sorted pair; the root is node 0. Leaf hashing is the caller's: OpenZeppelin's
standard double hash is `keccak256(keccak256(abi.encode(values)))` (see `standard_leaf`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_abi import encode as abi_encode
from eth_utils import keccak


def standard_leaf(types: Sequence[str], values: Sequence) -> bytes:
    """OpenZeppelin's leaf: double keccak of the ABI encoding (second-preimage safe)."""
    return keccak(keccak(abi_encode(list(types), list(values))))


def hash_pair(a: bytes, b: bytes) -> bytes:
    return keccak(a + b) if a < b else keccak(b + a)


@dataclass(frozen=True)
class MerkleTree:
    nodes: tuple[bytes, ...]
    leaf_position: dict[bytes, int]  # leaf hash -> index in `nodes`

    @classmethod
    def from_leaves(cls, leaves: Sequence[bytes]) -> MerkleTree:
        if not leaves:
            raise ValueError("a Merkle tree needs at least one leaf")
        if any(len(leaf) != 32 for leaf in leaves):
            raise ValueError("leaves must be 32-byte hashes")
        ordered = sorted(leaves)
        if len(set(ordered)) != len(ordered):
            raise ValueError("duplicate leaves: each credential must hash differently")
        size = 2 * len(ordered) - 1
        nodes: list[bytes] = [b""] * size
        positions: dict[bytes, int] = {}
        for i, leaf in enumerate(ordered):
            index = size - 1 - i
            nodes[index] = leaf
            positions[leaf] = index
        for i in range(size - 1 - len(ordered), -1, -1):
            nodes[i] = hash_pair(nodes[2 * i + 1], nodes[2 * i + 2])
        return cls(nodes=tuple(nodes), leaf_position=positions)

    @property
    def root(self) -> bytes:
        return self.nodes[0]

    def proof(self, leaf: bytes) -> list[bytes]:
        """Sibling hashes from the leaf up to (not including) the root."""
        try:
            index = self.leaf_position[leaf]
        except KeyError:
            raise KeyError("leaf is not in this tree") from None
        path = []
        while index > 0:
            sibling = index - 1 if index % 2 == 0 else index + 1
            path.append(self.nodes[sibling])
            index = (index - 1) // 2
        return path


def verify_proof(*, root: bytes, leaf: bytes, proof: Sequence[bytes]) -> bool:
    """What `MerkleProof.verify` computes on chain, in Python."""
    computed = leaf
    for sibling in proof:
        computed = hash_pair(computed, sibling)
    return computed == root
