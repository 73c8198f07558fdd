"""Compiles contracts/src with py-solc-x and writes contracts/build/<Name>.json artifacts.

Compiler choice, in order: SOLC_BINARY; a solc py-solc-x has installed at the pinned version; the
pinned npm `solc` (solcjs) through contracts/tools/solcjs-standard-json.js. Artifacts are committed,
so running the platform needs no compiler; `--check` proves they match the sources.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import solcx
from django.conf import settings
from eth_utils import keccak

ROOT = Path(settings.BASE_DIR)
SOURCE_DIR = ROOT / "contracts" / "src"
BUILD_DIR = ROOT / "contracts" / "build"
SOLCJS_WRAPPER = ROOT / "contracts" / "tools" / "solcjs-standard-json.js"
SOLC_VERSION = "0.8.28"
ARTIFACT_FORMAT = "ledgerbridge-artifact-1"

# Standard interfaces the platform calls on contracts it did not write (any ERC-20 a wallet holds):
# ABI-only artifacts, taken from OpenZeppelin's sources in the same compilation.
INTERFACE_ARTIFACTS = {
    "IERC20Metadata": "node_modules/@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol",
}

COMPILER_SETTINGS: dict = {
    "optimizer": {"enabled": True, "runs": 200},
    "evmVersion": "cancun",
    "remappings": ["@openzeppelin/=node_modules/@openzeppelin/"],
    "outputSelection": {
        "*": {
            "*": [
                "abi",
                "evm.bytecode.object",
                "evm.deployedBytecode.object",
                "evm.deployedBytecode.immutableReferences",
                "evm.methodIdentifiers",
            ]
        }
    },
}


class CompilationError(Exception):
    pass


@dataclass(frozen=True)
class CompileResult:
    compiler: str
    source_hash: str
    written: list[str]


def source_files() -> list[Path]:
    return sorted(SOURCE_DIR.rglob("*.sol"))


def openzeppelin_version() -> str:
    package = ROOT / "node_modules" / "@openzeppelin" / "contracts" / "package.json"
    return json.loads(package.read_text())["version"] if package.exists() else "missing"


def compute_source_hash() -> str:
    """Hash of everything that determines the artifacts: our sources, settings, OZ and solc versions."""
    digest = hashlib.sha256()
    for path in source_files():
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(json.dumps(COMPILER_SETTINGS, sort_keys=True).encode())
    digest.update(f"oz={openzeppelin_version()};solc={SOLC_VERSION}".encode())
    return "0x" + digest.hexdigest()


def select_compiler() -> Path:
    explicit = os.environ.get("SOLC_BINARY")
    if explicit:
        return Path(explicit)
    try:
        return Path(solcx.get_executable(SOLC_VERSION))
    except Exception:  # noqa: S110 - not installed by py-solc-x: fall back to solcjs
        pass
    if not (ROOT / "node_modules" / "solc").exists():
        raise CompilationError("no compiler: set SOLC_BINARY, or run `npm ci` for the pinned solcjs")
    return SOLCJS_WRAPPER


def _standard_input() -> dict:
    return {
        "language": "Solidity",
        "sources": {
            **{p.relative_to(ROOT).as_posix(): {"content": p.read_text()} for p in source_files()},
            **{path: {"content": (ROOT / path).read_text()} for path in INTERFACE_ARTIFACTS.values()},
        },
        "settings": COMPILER_SETTINGS,
    }


def compile_all() -> CompileResult:
    """Compile every source and (re)write one artifact per deployable contract."""
    if not source_files():
        raise CompilationError(f"no Solidity sources under {SOURCE_DIR}")
    binary = select_compiler()
    version = str(solcx.wrapper.get_solc_version(binary, with_commit_hash=True))
    try:
        output = solcx.compile_standard(
            _standard_input(), solc_binary=binary, base_path=str(ROOT), allow_paths=str(ROOT)
        )
    except solcx.exceptions.SolcError as exc:
        raise CompilationError(str(exc)) from None
    warnings = [e["formattedMessage"] for e in output.get("errors", []) if e["severity"] == "warning"]
    source_hash = compute_source_hash()
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    deployable = [
        (source_path, name, data)
        for source_path, contracts in sorted(output["contracts"].items())
        if source_path.startswith("contracts/src/")  # OpenZeppelin's own contracts are not ours
        for name, data in sorted(contracts.items())
        if data["evm"]["bytecode"]["object"]  # interfaces and abstract contracts have none
    ]
    for name, source_path in INTERFACE_ARTIFACTS.items():
        try:
            deployable.append((source_path, name, output["contracts"][source_path][name]))
        except KeyError:
            raise CompilationError(
                f"{name} is not in the compiler output (no source imports {source_path})"
            ) from None
    deployable.sort(key=lambda item: item[1])
    # Every artifact names the whole set, so `--check` notices one that was deleted.
    build_set = sorted(name for _path, name, _data in deployable)
    written: list[str] = []
    for source_path, name, data in deployable:
        bytecode = data["evm"]["bytecode"]["object"]
        deployed = data["evm"]["deployedBytecode"]["object"]
        artifact = {
            "format": ARTIFACT_FORMAT,
            "contractName": name,
            "kind": "interface" if name in INTERFACE_ARTIFACTS else "contract",
            "sourcePath": source_path,
            "abi": data["abi"],
            "bytecode": "0x" + bytecode,
            "deployedBytecode": "0x" + deployed,
            "immutableReferences": data["evm"]["deployedBytecode"].get("immutableReferences", {}),
            "methodIdentifiers": data["evm"].get("methodIdentifiers", {}),
            "compiler": {
                "version": version,
                "optimizer": COMPILER_SETTINGS["optimizer"],
                "evmVersion": COMPILER_SETTINGS["evmVersion"],
                "openzeppelin": openzeppelin_version(),
            },
            "sourceHash": source_hash,
            "buildSet": build_set,
            "artifactHash": "0x" + keccak(hexstr=bytecode).hex(),
            "warnings": [w for w in warnings if source_path in w],
        }
        path = BUILD_DIR / f"{name}.json"
        path.write_text(json.dumps(artifact, indent=2, sort_keys=True) + "\n")
        written.append(name)
    for stale in BUILD_DIR.glob("*.json"):
        if stale.stem not in written:
            stale.unlink()
    return CompileResult(compiler=f"{binary.name} {version}", source_hash=source_hash, written=written)


def stale_artifacts() -> list[str]:
    """Artifacts that do not match the sources ([] = all current): built from other sources, or
    missing from the set they were built with."""
    current = compute_source_hash()
    artifacts = sorted(BUILD_DIR.glob("*.json"))
    if not artifacts:
        return ["(no artifacts: run compile_contracts)"]
    stale: list[str] = []
    expected: set[str] = set()
    for path in artifacts:
        data = json.loads(path.read_text())
        expected.update(data.get("buildSet", []))
        if data.get("sourceHash") != current:
            stale.append(path.stem)
    stale.extend(f"{name} (missing)" for name in sorted(expected - {p.stem for p in artifacts}))
    return stale
