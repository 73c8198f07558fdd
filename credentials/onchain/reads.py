"""View-function reads of the CredentialVault for reconcile: Merkle batches and their revoked leaves
(`batchOf`, `isLeafRevoked`) and institutions (`institutionOf`), each domain at one block."""

from __future__ import annotations

from web3 import Web3

from blockchain.chain.abi import bytes32_from_hex
from blockchain.chain.bindings import NotDeployed, call_many, deployment_of
from blockchain.indexing.registry import Drift, ReconcileResult

ARTIFACT = "CredentialVault"


def _vault() -> str | None:
    try:
        return deployment_of(ARTIFACT).address
    except NotDeployed:
        return None


def reconcile_batches(w3: Web3) -> ReconcileResult:
    """Every batch the platform built: anchored exactly when `batchOf` says so; every credential of
    an anchored batch revoked exactly when `isLeafRevoked` says so."""
    from credentials.models import BatchStatus, Credential, CredentialBatch, CredentialStatus

    vault = _vault()
    batches = list(
        CredentialBatch.objects.exclude(status=BatchStatus.FAILED).values_list("pk", "merkle_root", "status")
    )
    leaves = list(
        Credential.objects.filter(
            batch__status=BatchStatus.ANCHORED, status__in=[CredentialStatus.ISSUED, CredentialStatus.REVOKED]
        ).values_list("pk", "batch__merkle_root", "leaf", "status")
    )
    result = ReconcileResult(checked=len(batches) + len(leaves))
    if vault is None or not (batches or leaves):
        return result
    calls = [(ARTIFACT, vault, "batchOf", [bytes32_from_hex(root)]) for _pk, root, _s in batches]
    calls += [
        (ARTIFACT, vault, "isLeafRevoked", [bytes32_from_hex(root), bytes32_from_hex(leaf)])
        for _pk, root, leaf, _s in leaves
    ]
    values, _block = call_many(calls, w3=w3)
    for (pk, _root, status), record in zip(batches, values[: len(batches)], strict=True):
        if (status == BatchStatus.ANCHORED) != bool(record[0]):
            result.drift.append(Drift("batches", str(pk), cache=status, chain={"anchored": bool(record[0])}))
    for (pk, _root, _leaf, status), revoked in zip(leaves, values[len(batches) :], strict=True):
        if (status == CredentialStatus.REVOKED) != bool(revoked):
            result.drift.append(
                Drift("batches", f"credential {pk}", cache=status, chain={"leaf_revoked": bool(revoked)})
            )
    return result


def reconcile_institutions(w3: Web3) -> ReconcileResult:
    """Every institution the platform says is synced against `institutionOf`: known, and the same
    name, metadata, KYC-provider flag and activity."""
    from credentials.models import Institution, SyncStatus

    vault = _vault()
    rows = list(
        Institution.objects.filter(sync_status=SyncStatus.SYNCED).values_list(
            "pk", "address", "active", "kyc_provider", "name", "metadata_uri"
        )
    )
    result = ReconcileResult(checked=len(rows))
    if vault is None or not rows:
        return result
    values, _block = call_many([(ARTIFACT, vault, "institutionOf", [row[1]]) for row in rows], w3=w3)
    for (_pk, address, active, kyc_provider, name, metadata_uri), record in zip(rows, values, strict=True):
        known, chain_active, chain_kyc, chain_name, chain_uri = record
        if not known or (active, kyc_provider, name, metadata_uri) != (
            bool(chain_active),
            bool(chain_kyc),
            chain_name,
            chain_uri,
        ):
            result.drift.append(
                Drift(
                    "institutions",
                    address,
                    cache={"active": active, "kyc_provider": kyc_provider, "name": name},
                    chain={
                        "known": bool(known),
                        "active": bool(chain_active),
                        "kyc_provider": bool(chain_kyc),
                        "name": chain_name,
                    },
                )
            )
    return result
