"""View-function reads of the CredentialVault: a credential's status for verification (the chain
fallback), and reconcile for single credentials (`credentialStatus`), Merkle batches and their
revoked leaves (`batchOf`, `isLeafRevoked`) and institutions (`institutionOf`), each at one block."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from web3 import Web3

from blockchain.chain.abi import bytes32_from_hex
from blockchain.chain.bindings import NotDeployed, call_many, deployment_of
from blockchain.indexing.registry import Drift, ReconcileResult
from credentials.fingerprints import expiry_seconds, type_hash

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


@dataclass(frozen=True)
class OnchainCredential:
    onchain_id: int
    exists: bool
    revoked: bool
    expired: bool
    issued_at: datetime | None
    revoked_at: datetime | None
    expires_at: datetime | None
    fingerprint: str | None
    institution: str | None
    subject: str | None
    institution_active: bool


def _time(seconds: int) -> datetime | None:
    return datetime.fromtimestamp(seconds, tz=UTC) if seconds else None


def read_credential(
    *, onchain_id: int | None = None, fingerprint: str | None = None, w3: Web3 | None = None
) -> OnchainCredential:
    """A single credential's on-chain state, by id or by fingerprint (not found: exists=False)."""
    vault = deployment_of(ARTIFACT).address
    if onchain_id is None:
        (onchain_id,), block = call_many(
            [(ARTIFACT, vault, "credentialIdOfFingerprint", [bytes32_from_hex(fingerprint)])], w3=w3
        )
    else:
        block = None
    if not onchain_id:
        return OnchainCredential(0, False, False, False, None, None, None, None, None, None, False)
    (status,), block = call_many([(ARTIFACT, vault, "credentialStatus", [onchain_id])], w3=w3, block=block)
    exists, revoked, expired, issued_at, revoked_at, expires_at, chain_fingerprint, institution, subject = (
        status
    )
    active = False
    if exists:
        (record,), _ = call_many([(ARTIFACT, vault, "institutionOf", [institution])], w3=w3, block=block)
        active = bool(record[1])
    return OnchainCredential(
        onchain_id=int(onchain_id),
        exists=bool(exists),
        revoked=bool(revoked),
        expired=bool(expired),
        issued_at=_time(issued_at),
        revoked_at=_time(revoked_at),
        expires_at=_time(expires_at),
        fingerprint="0x" + bytes(chain_fingerprint).hex() if exists else None,
        institution=Web3.to_checksum_address(institution) if exists else None,
        subject=Web3.to_checksum_address(subject) if exists else None,
        institution_active=active,
    )


def read_batch_credential(credential, *, w3: Web3 | None = None) -> tuple[bool, bool, bool, bool]:
    """(anchored, valid, revoked, expired) of a batched credential, from verifyBatchCredential."""
    vault = deployment_of(ARTIFACT).address
    root = bytes32_from_hex(credential.batch.merkle_root)
    values, _ = call_many(
        [
            (ARTIFACT, vault, "batchOf", [root]),
            (
                ARTIFACT,
                vault,
                "verifyBatchCredential",
                [
                    root,
                    bytes32_from_hex(credential.fingerprint),
                    credential.subject_wallet,
                    type_hash(credential.credential_type),
                    expiry_seconds(credential.expires_at),
                    [bytes32_from_hex(p) for p in credential.proof],
                ],
            ),
        ],
        w3=w3,
    )
    batch, (valid, revoked, expired) = values
    return bool(batch[0]), bool(valid), bool(revoked), bool(expired)


def reconcile_credentials(w3: Web3) -> ReconcileResult:
    """Every singly anchored credential's revocation state against credentialStatus."""
    from credentials.models import Credential, CredentialStatus

    rows = list(
        Credential.objects.filter(
            onchain_id__isnull=False, status__in=[CredentialStatus.ISSUED, CredentialStatus.REVOKED]
        ).values_list("onchain_id", "status", "fingerprint")
    )
    result = ReconcileResult(checked=len(rows))
    if not rows:
        return result
    vault = deployment_of(ARTIFACT).address
    values, _ = call_many([(ARTIFACT, vault, "credentialStatus", [r[0]]) for r in rows], w3=w3)
    for (onchain_id, status, fingerprint), value in zip(rows, values, strict=True):
        exists, revoked, *_rest = value
        chain_fingerprint = "0x" + bytes(value[6]).hex()
        if (
            not exists
            or chain_fingerprint != fingerprint
            or (status == CredentialStatus.REVOKED) != bool(revoked)
        ):
            result.drift.append(
                Drift(
                    "credentials", str(onchain_id), cache=status, chain={"exists": exists, "revoked": revoked}
                )
            )
    return result


@dataclass(frozen=True)
class AnchorFacts:
    """What the chain says about one anchoring claim (a proof bundle), every read at `block`."""

    block: int
    block_time: datetime
    chain_id: int
    credential: tuple | None  # credentialStatus(id), single credentials
    batch: tuple | None  # batchOf(root), batch members
    leaf_revoked: bool | None  # isLeafRevoked(root, leaf), batch members
    institution: tuple | None  # institutionOf(the anchor's institution)
    receipt: dict | None  # the claimed transaction's receipt (raw JSON-RPC), None if unknown
    canonical_block_hash: str | None  # the hash of the claimed block on the chain read at `block`
    vault_logs: tuple[tuple[str, dict], ...]  # (event name, args) of the receipt's vault logs


def _eth_call(vault: str, function: str, args: list, block: int) -> tuple[str, list]:
    from blockchain.chain.abi import interface

    data = "0x" + interface(ARTIFACT).encode_call(function, args).hex()
    return "eth_call", [{"to": vault, "data": data}, hex(block)]


def _decoded(function: str, raw: str) -> tuple | bool:
    from blockchain.chain.abi import interface

    values = interface(ARTIFACT).decode_output(function, bytes.fromhex(raw.removeprefix("0x")))
    return values[0] if len(values) == 1 else values


def read_anchor(
    *,
    vault: str,
    credential_id: int | None,
    root: str | None,
    leaf: str | None,
    tx_hash: str,
    block_number: int,
    w3: Web3 | None = None,
) -> AnchorFacts:
    """The vault's view of a single credential (`credential_id`) or a batch leaf (`root`, `leaf`),
    the institution behind it, and the claimed anchoring transaction: one JSON-RPC batch at the head."""
    from blockchain.chain.abi import interface
    from blockchain.chain.client import RpcError, get_web3, rpc_batch, rpc_call

    w3 = w3 or get_web3()
    block = int(rpc_call(w3, "eth_blockNumber", []), 16)
    single = credential_id is not None
    calls = [
        ("eth_chainId", []),
        ("eth_getBlockByNumber", [hex(block), False]),
        ("eth_getTransactionReceipt", [tx_hash]),
        ("eth_getBlockByNumber", [hex(block_number), False]),
        _eth_call(vault, "credentialStatus", [credential_id], block)
        if single
        else _eth_call(vault, "batchOf", [bytes32_from_hex(root)], block),
    ]
    if not single:
        calls.append(
            _eth_call(vault, "isLeafRevoked", [bytes32_from_hex(root), bytes32_from_hex(leaf)], block)
        )
    chain_id, head, receipt, claimed_block, record, *rest = rpc_batch(w3, calls)
    for value in (chain_id, head, record, *rest):
        if isinstance(value, RpcError):
            raise value
    record = _decoded("credentialStatus" if single else "batchOf", record)
    institution_address = record[7] if single else record[2]
    institution = None
    if int(institution_address, 16):
        (institution,), _ = call_many(
            [(ARTIFACT, vault, "institutionOf", [institution_address])], w3=w3, block=block
        )
    receipt = receipt if isinstance(receipt, dict) else None
    logs = []
    for log in (receipt or {}).get("logs", []):
        if Web3.to_checksum_address(log["address"]) != Web3.to_checksum_address(vault):
            continue
        topics = [bytes.fromhex(t.removeprefix("0x")) for t in log["topics"]]
        spec = interface(ARTIFACT).events_by_topic.get(topics[0]) if topics else None
        if spec is not None:
            logs.append((spec.name, spec.decode(topics, bytes.fromhex(log["data"].removeprefix("0x")))))
    claimed = claimed_block if isinstance(claimed_block, dict) and block_number <= block else None
    return AnchorFacts(
        block=block,
        block_time=datetime.fromtimestamp(int(head["timestamp"], 16), tz=UTC),
        chain_id=int(chain_id, 16),
        credential=record if single else None,
        batch=None if single else record,
        leaf_revoked=None if single else bool(_decoded("isLeafRevoked", rest[0])),
        institution=institution,
        receipt=receipt,
        canonical_block_hash=claimed["hash"] if claimed else None,
        vault_logs=tuple(logs),
    )
