"""Deploys the contract suite and records it in blockchain.ContractDeployment.

Deployment is an operator's bootstrap step that happens before the outbox can address any
contract, so it signs and sends directly, one transaction at a time, waiting for each receipt.
Re-running on a chain that has an active set verifies the code at each recorded address instead.

The signer pool's operator role is granted the same way (`grant_pool_signers`, `set_operator_role`):
granting needs DEFAULT_ADMIN_ROLE, which only the admin key holds, not the operator lanes the outbox
signs with, and it must land before any lane's intent can, so it cannot wait in the outbox behind them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from eth_abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3 import Web3

from blockchain.chain.abi import Artifact, canonical_type, interface, load_artifact
from blockchain.chain.fees import suggest_fees
from blockchain.models import ContractDeployment, SignerLane, WatchedContract

Addresses = dict[str, str]


@dataclass(frozen=True)
class SuiteEntry:
    name: str
    constructor_args: Callable[[str, str, Addresses], list]  # (admin, operator, deployed so far) -> args


# Deployment order matters: the factory needs the registry's address.
SUITE: tuple[SuiteEntry, ...] = (
    SuiteEntry("IssuerRegistry", lambda admin, operator, done: [admin, operator]),
    SuiteEntry("CampaignFactory", lambda admin, operator, done: [admin, operator, done["IssuerRegistry"]]),
    SuiteEntry(
        "ShareCertificate",
        lambda admin, operator, done: [admin, operator, settings.CERTIFICATE_METADATA_BASE_URL],
    ),
    SuiteEntry("CredentialVault", lambda admin, operator, done: [admin, operator]),
    SuiteEntry("LoanRegistry", lambda admin, operator, done: [admin, operator]),
)
SUITE_NAMES = tuple(entry.name for entry in SUITE)


class DeploymentError(Exception):
    pass


@dataclass(frozen=True)
class DeployedContract:
    name: str
    address: str
    block_number: int
    tx_hash: str
    gas_used: int


def creation_data(artifact: Artifact, args: list) -> bytes:
    constructor = next((item for item in artifact.abi if item["type"] == "constructor"), None)
    types = [canonical_type(i) for i in constructor["inputs"]] if constructor else []
    if len(types) != len(args):
        raise DeploymentError(f"{artifact.name} constructor takes {len(types)} arguments, got {len(args)}")
    return bytes.fromhex(artifact.bytecode.removeprefix("0x")) + (abi_encode(types, args) if types else b"")


def deploy_contract(*, w3: Web3, signer: LocalAccount, artifact: Artifact, args: list) -> DeployedContract:
    """Send one creation transaction and wait for its receipt; raise on revert."""
    data = creation_data(artifact, args)
    tx = {
        "from": signer.address,
        "nonce": w3.eth.get_transaction_count(signer.address, "pending"),
        "data": data,
        "chainId": w3.eth.chain_id,
        "value": 0,
        **suggest_fees(w3).as_tx_fields(),
    }
    tx["gas"] = int(w3.eth.estimate_gas(tx) * 1.2)
    signed = signer.sign_transaction(tx)
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=180)
    if receipt["status"] != 1 or not receipt.get("contractAddress"):
        raise DeploymentError(f"deploying {artifact.name} reverted (tx {tx_hash.to_0x_hex()})")
    return DeployedContract(
        name=artifact.name,
        address=Web3.to_checksum_address(receipt["contractAddress"]),
        block_number=receipt["blockNumber"],
        tx_hash=tx_hash.to_0x_hex(),
        gas_used=receipt["gasUsed"],
    )


@dataclass(frozen=True)
class VerifyResult:
    name: str
    address: str
    ok: bool
    problem: str = ""


def verify_deployments(*, w3: Web3, deployments: list[ContractDeployment]) -> list[VerifyResult]:
    """Check each recorded address holds the runtime code of the current artifact."""
    results = []
    for row in deployments:
        artifact = load_artifact(row.name)
        code = bytes(w3.eth.get_code(row.address))
        if not code:
            results.append(
                VerifyResult(row.name, row.address, False, "no code at the address (chain reset?)")
            )
        elif not artifact.runtime_code_matches(code):
            results.append(
                VerifyResult(row.name, row.address, False, "code differs from the current artifact")
            )
        else:
            results.append(VerifyResult(row.name, row.address, True))
    return results


def deploy_suite_onchain(
    *,
    w3: Web3,
    signer: LocalAccount,
    admin: str | None = None,
    operator: str | None = None,
    progress: Callable[[DeployedContract], None] = lambda _d: None,
) -> list[DeployedContract]:
    """Deploy every contract of SUITE, wiring constructor arguments; nothing is recorded."""
    admin = admin or signer.address
    operator = operator or signer.address
    done: Addresses = {}
    deployed: list[DeployedContract] = []
    for entry in SUITE:
        artifact = load_artifact(entry.name)
        result = deploy_contract(
            w3=w3, signer=signer, artifact=artifact, args=entry.constructor_args(admin, operator, done)
        )
        done[entry.name] = result.address
        deployed.append(result)
        progress(result)
    return deployed


def record_suite(*, chain_id: int, deployed: list[DeployedContract]) -> list[ContractDeployment]:
    """Record a deployed suite as the active set on `chain_id`, retiring the previous set."""
    with transaction.atomic():
        previous = ContractDeployment.objects.filter(chain_id=chain_id).order_by("-deployment_set").first()
        next_set = (previous.deployment_set + 1) if previous else 1
        ContractDeployment.objects.filter(chain_id=chain_id, active=True).update(active=False)
        WatchedContract.objects.filter(chain_id=chain_id, deployment__isnull=False, active=True).update(
            active=False
        )
        rows = []
        for d in deployed:
            row = ContractDeployment.objects.create(
                name=d.name,
                address=d.address,
                chain_id=chain_id,
                block_number=d.block_number,
                tx_hash=d.tx_hash,
                artifact_hash=load_artifact(d.name).artifact_hash,
                deployment_set=next_set,
            )
            # The indexer and the receipt path decode this address's logs from its deployment block.
            WatchedContract.objects.create(
                chain_id=chain_id,
                address=d.address,
                artifact=d.name,
                start_block=d.block_number,
                deployment=row,
            )
            rows.append(row)
        return rows


def deploy_suite(
    *,
    w3: Web3,
    signer: LocalAccount,
    admin: str | None = None,
    operator: str | None = None,
    progress: Callable[[DeployedContract], None] = lambda _d: None,
) -> list[ContractDeployment]:
    """Deploy every contract of SUITE as a new active set, retiring the previous set on this chain."""
    deployed = deploy_suite_onchain(w3=w3, signer=signer, admin=admin, operator=operator, progress=progress)
    return record_suite(chain_id=w3.eth.chain_id, deployed=deployed)


# --- the signer pool's operator role -------------------------------------------------------------

OPERATOR_ROLE = keccak(text="OPERATOR_ROLE")
# Every suite contract whose writes need OPERATOR_ROLE (Campaign clones ask the factory).
ROLE_CONTRACTS = SUITE_NAMES


@dataclass(frozen=True)
class RoleChange:
    contract: str
    address: str
    account: str
    tx_hash: str  # "" when nothing had to change (the role was already as wanted)


def _send_admin_call(*, w3: Web3, admin: LocalAccount, to: str, data: bytes) -> str:
    """One admin transaction, signed and sent directly like the deployment, waited for."""
    tx = {
        "from": admin.address,
        "to": to,
        "nonce": w3.eth.get_transaction_count(admin.address, "pending"),
        "data": data,
        "chainId": w3.eth.chain_id,
        "value": 0,
        **suggest_fees(w3).as_tx_fields(),
    }
    tx["gas"] = int(w3.eth.estimate_gas(tx) * 1.2)
    signed = admin.sign_transaction(tx)
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=180)
    if receipt["status"] != 1:
        raise DeploymentError(f"admin call to {to} reverted (tx {tx_hash.to_0x_hex()})")
    return tx_hash.to_0x_hex()


def has_operator_role(w3: Web3, contract: str, address: str, account: str) -> bool:
    abi = interface(contract)
    data = abi.encode_call("hasRole", [OPERATOR_ROLE, account])
    return bool(abi.decode_output("hasRole", bytes(w3.eth.call({"to": address, "data": data})))[0])


def set_operator_role(
    *, w3: Web3, admin: LocalAccount, account: str, addresses: Addresses, grant: bool = True
) -> list[RoleChange]:
    """Grant (or revoke) OPERATOR_ROLE to `account` on every suite contract at `addresses`
    ({name: address}), skipping contracts where it already is as wanted. Signed by the admin
    (the primary signer that deployed the suite and holds DEFAULT_ADMIN_ROLE)."""
    account = Web3.to_checksum_address(account)
    changes = []
    for name in ROLE_CONTRACTS:
        address = addresses.get(name)
        if not address:
            continue
        if has_operator_role(w3, name, address, account) == grant:
            changes.append(RoleChange(name, address, account, ""))
            continue
        data = interface(name).encode_call("grantRole" if grant else "revokeRole", [OPERATOR_ROLE, account])
        changes.append(
            RoleChange(name, address, account, _send_admin_call(w3=w3, admin=admin, to=address, data=data))
        )
    return changes


def record_signer_lane(*, chain_id: int, address: str, active: bool) -> SignerLane:
    """Persist the pool state of one signer: active (takes new intents) or retired."""
    now = timezone.now()
    lane, _created = SignerLane.objects.get_or_create(
        chain_id=chain_id, address=Web3.to_checksum_address(address)
    )
    lane.active = active
    if active:
        lane.granted_at = now
        lane.retired_at = None
    else:
        lane.retired_at = now
    lane.save()
    return lane


def grant_pool_signers(
    *, w3: Web3, admin: LocalAccount, chain_id: int, addresses: Addresses, signers: list[str]
) -> list[RoleChange]:
    """`deploy_contracts`: every configured pool signer gets OPERATOR_ROLE on the suite and an
    active lane, except those an operator retired (they stay retired)."""
    retired = set(
        SignerLane.objects.filter(chain_id=chain_id, active=False).values_list("address", flat=True)
    )
    changes: list[RoleChange] = []
    for signer in signers:
        if signer in retired:
            continue
        changes += set_operator_role(w3=w3, admin=admin, account=signer, addresses=addresses)
        record_signer_lane(chain_id=chain_id, address=signer, active=True)
    return changes
