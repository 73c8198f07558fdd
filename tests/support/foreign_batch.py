"""A Merkle batch (or a single credential) anchored outside the platform, as an institution would on
its own.

The tree comes from OpenZeppelin's `@openzeppelin/merkle-tree` (tests/support/oz_tree.js, run by
node), not from `blockchain.chain.merkle`, and `anchorBatch(root, count, institution)` is sent from
the institution's own (unlocked anvil) account, not through the outbox. What comes back is one proof
bundle per document in the docs/proof-bundles.md format, so a verifier can be shown to accept a batch
the platform never saw (`issue_foreign_credential` does the same for one `issueCredential`). The
institution must be known and active in the vault first:
`register_foreign_institution` does that the platform's way (upsert, then settle the outbox).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from django.conf import settings
from eth_utils import keccak, to_checksum_address

from blockchain.chain.bindings import bound, deployment_of
from blockchain.chain.client import get_web3
from credentials.fingerprints import CREDENTIAL_SCHEME, fingerprint_of, type_hash
from tests.support.chain import send

BUNDLE_FORMAT = "ledgerbridge.proof-bundle.v1"
LEAF_ENCODING = ["bytes32", "address", "bytes32", "uint64"]
OZ_TREE_SCRIPT = Path(__file__).with_name("oz_tree.js")
# Anvil's default account 4: used by no platform fixture, so free to play an institution signing itself.
FOREIGN_INSTITUTION = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"


def register_foreign_institution(address: str, *, name: str = "Foreign Bank", active: bool = True) -> None:
    """Make `address` a known institution in the vault (or change whether it is active), synced."""
    from credentials.services import upsert_institution
    from tests.support.outbox import settle_outbox

    upsert_institution(address=address, name=name, metadata_uri="ipfs://foreign", active=active)
    settle_outbox()


def oz_tree(values: list[list]) -> dict:
    """{"root", "items": [{"value", "leaf", "proof"}]} as StandardMerkleTree builds it, in input order."""
    completed = subprocess.run(
        ["node", str(OZ_TREE_SCRIPT)],
        input=json.dumps({"values": values}),
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,  # node_modules resolves from the repository root
        timeout=60,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"oz_tree.js failed: {completed.stderr.strip()}")
    return json.loads(completed.stdout)


def anchor_foreign_batch(
    *,
    institution_address: str,
    documents: list[dict],
    subject: str,
    credential_type: str,
    expires_at: int = 0,
) -> list[dict]:
    """Anchor `documents` as one OpenZeppelin-built batch from the institution's own account; one proof
    bundle per document, in order. The institution must already be known and active in the vault."""
    institution, subject = to_checksum_address(institution_address), to_checksum_address(subject)
    kind_hash = "0x" + type_hash(credential_type).hex()
    fingerprints = [fingerprint_of(document) for document in documents]
    tree = oz_tree([[fp, subject, kind_hash, str(expires_at)] for fp in fingerprints])
    vault = deployment_of("CredentialVault").address
    tx_hash = send(
        vault,
        "CredentialVault",
        "anchorBatch",
        bytes.fromhex(tree["root"][2:]),
        len(documents),
        institution,
        sender=institution,
    )
    w3 = get_web3()
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
    anchor = {
        "kind": "batch",
        "chain_id": w3.eth.chain_id,
        "contract": to_checksum_address(vault),
        "tx_hash": tx_hash,
        "block_number": receipt["blockNumber"],
        "root": tree["root"],
        "leaf_encoding": LEAF_ENCODING,
    }
    return [
        {
            "format": BUNDLE_FORMAT,
            "credential": {
                "scheme": CREDENTIAL_SCHEME,
                "document": document,
                "fingerprint": fingerprint,
                "type": credential_type,
                "type_hash": kind_hash,
                "subject": subject,
                "issuer": institution,
                "expires_at": expires_at,
            },
            "anchor": {**anchor, "leaf": item["leaf"], "proof": item["proof"]},
        }
        for document, fingerprint, item in zip(documents, fingerprints, tree["items"], strict=True)
    ]


def issue_foreign_credential(
    *, institution_address: str, document: dict, subject: str, credential_type: str, expires_at: int = 0
) -> dict:
    """Anchor `document` with `issueCredential` from the institution's own account; its proof bundle."""
    institution, subject = to_checksum_address(institution_address), to_checksum_address(subject)
    fingerprint = fingerprint_of(document)
    vault = bound("CredentialVault")
    request = (
        institution,
        subject,
        type_hash(credential_type),
        bytes.fromhex(fingerprint[2:]),
        keccak(text=f"foreign:{fingerprint}"),  # the credential's write-once reference
        expires_at,
    )
    tx_hash = send(vault.address, "CredentialVault", "issueCredential", request, sender=institution)
    receipt = get_web3().eth.wait_for_transaction_receipt(tx_hash, timeout=30)
    return {
        "format": BUNDLE_FORMAT,
        "credential": {
            "scheme": CREDENTIAL_SCHEME,
            "document": document,
            "fingerprint": fingerprint,
            "type": credential_type,
            "type_hash": "0x" + type_hash(credential_type).hex(),
            "subject": subject,
            "issuer": institution,
            "expires_at": expires_at,
        },
        "anchor": {
            "kind": "single",
            "chain_id": get_web3().eth.chain_id,
            "contract": vault.address,
            "tx_hash": tx_hash,
            "block_number": receipt["blockNumber"],
            "credential_id": vault.call("credentialIdOfFingerprint", bytes.fromhex(fingerprint[2:])),
        },
    }


def revoke_foreign(bundle: dict, *, institution_address: str) -> str:
    """The institution revokes the bundle's credential itself (`revokeCredential` for a single one,
    `revokeBatchLeaf` for a batch leaf); the tx hash."""
    anchor = bundle["anchor"]
    if anchor["kind"] == "single":
        function, target = "revokeCredential", [anchor["credential_id"]]
    else:
        function, target = (
            "revokeBatchLeaf",
            [bytes.fromhex(anchor["root"][2:]), bytes.fromhex(anchor["leaf"][2:])],
        )
    return send(
        anchor["contract"],
        "CredentialVault",
        function,
        *target,
        keccak(text="reason"),
        sender=to_checksum_address(institution_address),
    )
