"""compile_contracts (--check, staleness, reproducible artifacts) and deploy_contracts (idempotent
re-runs, --redeploy, --redeploy-if-reset, verification failures) against the session anvil."""

from __future__ import annotations

import json
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from eth_utils import keccak

from blockchain.chain.abi import load_artifact
from blockchain.chain.bindings import bound
from blockchain.chain.client import build_web3
from blockchain.models import ContractDeployment, WatchedContract
from contracts import compiler
from contracts.deployment import SUITE_NAMES

ARTIFACTS = [
    "Campaign",
    "CampaignFactory",
    "CredentialVault",
    "DemoToken",
    "IERC20Metadata",  # ABI only: OpenZeppelin's ERC-20 interface, for tokens the platform reads
    "IssuerRegistry",
    "LoanRegistry",
    "OwnedContractWallet",  # test only: an EIP-1271 wallet, for tests/issuance/test_company_wallet_proof.py
    "SafeMintShareCertificate",  # test only: the old minting path, for tests/issuance/test_mint_receivers.py
    "ShareCertificate",
]
REAL_ROOT = Path(settings.BASE_DIR)


# ------------------------------------------------------------------ compile_contracts


def test_compile_check_passes_on_the_committed_artifacts():
    out = StringIO()
    call_command("compile_contracts", "--check", stdout=out)
    assert "match their sources" in out.getvalue()
    assert compiler.stale_artifacts() == []


def test_committed_artifacts_are_complete_and_self_consistent():
    built = sorted(p.stem for p in compiler.BUILD_DIR.glob("*.json"))
    assert built == ARTIFACTS
    source_hash = compiler.compute_source_hash()
    for name in ARTIFACTS:
        data = json.loads((compiler.BUILD_DIR / f"{name}.json").read_text())
        assert data["contractName"] == name
        assert data["sourceHash"] == source_hash
        if name in compiler.INTERFACE_ARTIFACTS:  # ABI only: nothing to deploy
            assert data["kind"] == "interface" and data["bytecode"] == data["deployedBytecode"] == "0x"
        else:
            assert data["kind"] == "contract"
            assert data["bytecode"].startswith("0x") and len(data["bytecode"]) > 100
            assert data["deployedBytecode"].startswith("0x") and len(data["deployedBytecode"]) > 100
        assert data["artifactHash"] == "0x" + keccak(hexstr=data["bytecode"]).hex()
        assert data["compiler"]["version"].startswith(compiler.SOLC_VERSION)
        assert any(item["type"] == "function" for item in data["abi"])
        # the ABI and the compiler's method identifiers name the same functions
        iface = load_artifact(name).interface
        assert set(data["methodIdentifiers"]) == {sig for sig in iface.functions if "(" in sig}


@pytest.fixture
def source_copy(tmp_path, monkeypatch):
    """contracts/src copied under tmp_path, with the compiler module pointed at the copy (the real
    sources are never touched; artifacts are still read from the real contracts/build)."""
    root = tmp_path / "repo"
    shutil.copytree(REAL_ROOT / "contracts" / "src", root / "contracts" / "src")
    (root / "node_modules").symlink_to(REAL_ROOT / "node_modules")  # same OpenZeppelin version
    monkeypatch.setattr(compiler, "ROOT", root)
    monkeypatch.setattr(compiler, "SOURCE_DIR", root / "contracts" / "src")
    return root / "contracts" / "src"


def test_a_changed_source_makes_every_artifact_stale(source_copy):
    real_hash_before = {p.name: p.read_bytes() for p in (REAL_ROOT / "contracts" / "src").glob("*.sol")}
    assert compiler.stale_artifacts() == []  # an identical copy is current

    campaign = source_copy / "Campaign.sol"
    original = campaign.read_text()
    campaign.write_text(original + "\n// a comment is a change too\n")
    assert compiler.stale_artifacts() == ARTIFACTS
    with pytest.raises(CommandError, match="stale"):
        call_command("compile_contracts", "--check", stdout=StringIO())

    campaign.write_text(original)
    assert compiler.stale_artifacts() == []
    (source_copy / "Extra.sol").write_text("// SPDX-License-Identifier: MIT\npragma solidity ^0.8.24;\n")
    assert compiler.stale_artifacts() == ARTIFACTS  # a new source counts as well

    real_hash_after = {p.name: p.read_bytes() for p in (REAL_ROOT / "contracts" / "src").glob("*.sol")}
    assert real_hash_after == real_hash_before


def test_missing_artifacts_are_reported_stale(tmp_path, monkeypatch):
    monkeypatch.setattr(compiler, "BUILD_DIR", tmp_path / "empty-build")
    assert compiler.stale_artifacts() == ["(no artifacts: run compile_contracts)"]


def test_compiling_reproduces_the_committed_artifacts_byte_for_byte(tmp_path, monkeypatch):
    monkeypatch.setattr(compiler, "BUILD_DIR", tmp_path / "build")
    result = compiler.compile_all()
    assert result.written == ARTIFACTS
    for name in ARTIFACTS:
        fresh = (tmp_path / "build" / f"{name}.json").read_text()
        committed = (REAL_ROOT / "contracts" / "build" / f"{name}.json").read_text()
        assert fresh == committed, f"{name}: the committed artifact is not what the sources compile to"


# ------------------------------------------------------------------ deploy_contracts


def deploy(*args: str) -> str:
    out = StringIO()
    call_command("deploy_contracts", *args, stdout=out)
    return out.getvalue()


def active_rows() -> dict[str, ContractDeployment]:
    return {row.name: row for row in ContractDeployment.objects.active(settings.CHAIN_ID)}


@pytest.mark.chain
@pytest.mark.django_db
def test_deploy_twice_deploys_once(chain):
    assert not ContractDeployment.objects.exists()
    output = deploy()
    assert "deployment set 1 recorded" in output
    rows = active_rows()
    assert sorted(rows) == sorted(SUITE_NAMES)
    assert {row.deployment_set for row in rows.values()} == {1}
    w3 = build_web3(chain.url)
    for row in rows.values():
        receipt = w3.eth.get_transaction_receipt(row.tx_hash)
        assert receipt["contractAddress"] == row.address and receipt["blockNumber"] == row.block_number
        assert load_artifact(row.name).runtime_code_matches(bytes(w3.eth.get_code(row.address)))
        assert row.artifact_hash == load_artifact(row.name).artifact_hash
    assert WatchedContract.objects.filter(active=True, deployment__isnull=False).count() == len(SUITE_NAMES)
    # the factory was wired to this set's registry
    factory = bound("CampaignFactory", w3=w3)
    assert factory.call("issuerRegistry").lower() == rows["IssuerRegistry"].address.lower()

    block_before = w3.eth.block_number
    output = deploy()
    assert "already deployed" in output and "verified" in output
    assert output.count(" ok ") == len(SUITE_NAMES)
    assert ContractDeployment.objects.count() == len(SUITE_NAMES)
    assert w3.eth.block_number == block_before  # nothing was sent


@pytest.mark.chain
@pytest.mark.django_db
def test_redeploy_makes_a_new_set_and_retires_the_old_one(chain):
    deploy()
    first = active_rows()
    output = deploy("--redeploy")
    assert "deployment set 2 recorded" in output
    second = active_rows()
    assert sorted(second) == sorted(SUITE_NAMES)
    assert {row.deployment_set for row in second.values()} == {2}
    assert not {r.address for r in first.values()} & {r.address for r in second.values()}
    assert ContractDeployment.objects.count() == 2 * len(SUITE_NAMES)
    assert not ContractDeployment.objects.filter(deployment_set=1, active=True).exists()
    watched = WatchedContract.objects.filter(deployment__isnull=False)
    assert {w.address for w in watched.filter(active=True)} == {r.address for r in second.values()}
    assert {w.address for w in watched.filter(active=False)} == {r.address for r in first.values()}
    assert "verified" in deploy()  # the new set is what later runs verify


@pytest.mark.chain
@pytest.mark.django_db
def test_a_reset_chain_needs_redeploy_if_reset(chain):
    deploy()
    for row in active_rows().values():
        chain.rpc("anvil_setCode", row.address, "0x")  # what a restarted dev chain looks like
    with pytest.raises(CommandError, match="--redeploy"):
        deploy()
    assert ContractDeployment.objects.count() == len(SUITE_NAMES)
    output = deploy("--redeploy-if-reset")
    assert "chain was reset" in output and "deployment set 2 recorded" in output
    assert {row.deployment_set for row in active_rows().values()} == {2}


@pytest.mark.chain
@pytest.mark.django_db
def test_foreign_code_or_a_missing_row_fails_verification(chain):
    deploy()
    rows = active_rows()
    chain.rpc(
        "anvil_setCode", rows["LoanRegistry"].address, load_artifact("IssuerRegistry").deployed_bytecode
    )
    out = StringIO()
    with pytest.raises(CommandError, match="code verification failed"):
        call_command("deploy_contracts", "--redeploy-if-reset", stdout=out)
    assert "code differs" in out.getvalue()

    chain.rpc("anvil_setCode", rows["LoanRegistry"].address, load_artifact("LoanRegistry").deployed_bytecode)
    assert "verified" in deploy()
    rows["ShareCertificate"].delete()
    with pytest.raises(CommandError, match="missing contracts: ShareCertificate"):
        deploy()


# ------------------------------------------------------------------ a reset dev chain, a lost artifact


@pytest.mark.chain
@pytest.mark.django_db
def test_redeploy_if_reset_after_a_real_reset_records_the_new_set(chain):
    before_first_deploy = chain.snapshot()
    deploy()
    old = active_rows()
    assert chain.revert(before_first_deploy)  # a restarted dev chain: no code, deployer nonce back
    output = deploy("--redeploy-if-reset")
    assert "deployment set 2 recorded" in output
    new = active_rows()
    w3 = build_web3(chain.url)
    for name, row in new.items():
        assert row.deployment_set == 2
        assert w3.eth.get_transaction_receipt(row.tx_hash)["contractAddress"] == row.address
        assert row.block_number == w3.eth.get_transaction_receipt(row.tx_hash)["blockNumber"]
        old[name].refresh_from_db()
        assert not old[name].active  # the lost set is retired, kept as history


def test_a_missing_artifact_is_reported_by_the_check(tmp_path, monkeypatch):
    build = tmp_path / "build"
    shutil.copytree(REAL_ROOT / "contracts" / "build", build)
    (build / "LoanRegistry.json").unlink()
    monkeypatch.setattr(compiler, "BUILD_DIR", build)
    assert compiler.stale_artifacts() == ["LoanRegistry (missing)"]
