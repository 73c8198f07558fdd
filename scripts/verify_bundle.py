#!/usr/bin/env python3
"""Check a LedgerBridge proof bundle against the chain, with nothing but an RPC URL.

A proof bundle (`ledgerbridge.proof-bundle.v1`, see docs/proof-bundles.md) carries a credential's
document, how its fingerprint is computed and where that fingerprint is anchored in a CredentialVault.
Everything that makes the credential valid is public: the fingerprint is a hash anyone can recompute,
and the anchor, its revocation and the issuer's standing are state of the vault contract. So this
script needs no database, no account and none of the platform's code, only a JSON-RPC node of the
chain and the vault's ABI (the committed contracts/build/CredentialVault.json). It runs the checks
of docs/proof-bundles.md in their order, every chain read at one block:

  fingerprint    keccak256 of the RFC 8785 JSON of {"scheme", "document"} is the bundle's fingerprint
  contract       the node is the bundle's chain and the bundle's vault is the one you trust (--vault)
  anchored       single: the vault's credential has these fields; batch: the leaf hashes these fields,
                 its proof (OpenZeppelin sorted pairs) leads to the root, and the issuer anchored it
  transaction    the anchoring transaction succeeded in that canonical block and its vault log
                 anchors this credential (CredentialIssued / BatchAnchored)
  not_revoked    the vault does not mark the credential (or its batch leaf) revoked
  not_expired    expires_at is 0 or after the read block's time
  issuer_active  the vault knows the issuer and it is active

The outcome is the first failure in the order fingerprint_mismatch, not_found, revoked, expired,
issuer_inactive, else valid. Exit status: 0 valid, 1 checked and not valid, 2 could not check.

    python scripts/verify_bundle.py BUNDLE.json --rpc URL (--vault 0xADDR | --trust-bundle-contract) [--json]

BUNDLE.json may be `-` for standard input. It depends only on the standard library, web3, eth_abi,
eth_utils and rfc8785.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import rfc8785
from eth_abi import encode as abi_encode
from eth_utils import is_checksum_address, keccak, to_checksum_address
from web3 import Web3
from web3.exceptions import BadFunctionCallOutput, ContractLogicError, TransactionNotFound, Web3Exception

BUNDLE_FORMAT = "ledgerbridge.proof-bundle.v1"
CREDENTIAL_SCHEME = "ledgerbridge.credential.v1"
LEAF_ENCODING = ["bytes32", "address", "bytes32", "uint64"]
SAFE_INTEGER = 2**53 - 1
DEFAULT_ABI = Path(__file__).resolve().parent.parent / "contracts" / "build" / "CredentialVault.json"

FAILURE_OF_STEP = {
    "fingerprint": "fingerprint_mismatch",
    "contract": "not_found",
    "anchored": "not_found",
    "transaction": "not_found",
    "not_revoked": "revoked",
    "not_expired": "expired",
    "issuer_active": "issuer_inactive",
}
STEPS = tuple(FAILURE_OF_STEP)
OUTCOME_PRECEDENCE = ("fingerprint_mismatch", "not_found", "revoked", "expired", "issuer_inactive")
MARKS = {True: "✓", False: "✗", None: "–"}

EXIT_VALID, EXIT_NOT_VALID, EXIT_CANNOT_CHECK = 0, 1, 2


class CannotCheck(Exception):
    """The bundle or the chain could not be checked (exit 2); the message says why, in one line."""


# ---------------------------------------------------------------- the bundle


@dataclass(frozen=True)
class Credential:
    scheme: str
    document: dict
    fingerprint: bytes
    type: str | None
    type_hash: bytes
    subject: str
    issuer: str
    expires_at: int


@dataclass(frozen=True)
class Anchor:
    kind: str
    chain_id: int
    contract: str
    tx_hash: bytes
    block_number: int
    credential_id: int | None  # single
    root: bytes | None  # batch
    leaf: bytes | None  # batch
    proof: tuple[bytes, ...]  # batch


@dataclass(frozen=True)
class Bundle:
    credential: Credential
    anchor: Anchor


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict:
    value = dict(pairs)
    if len(value) != len(pairs):  # another reader could take the other value: refuse, don't guess
        duplicated = next(key for key, n in Counter(key for key, _ in pairs).items() if n > 1)
        raise CannotCheck(f"the bundle has the key {duplicated!r} twice in one object")
    return value


def _reject_constant(name: str) -> None:
    raise CannotCheck(f"the bundle contains {name}, which is not a JSON number")


def parse_json(text: str) -> object:
    try:
        return json.loads(text, object_pairs_hook=_reject_duplicate_keys, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise CannotCheck(f"the bundle is not valid JSON: {exc}") from None
    except RecursionError:
        raise CannotCheck("the bundle is not readable JSON: it is nested too deeply") from None


def read_bundle_text(source: str) -> str:
    try:
        if source == "-":
            return sys.stdin.read()
        return Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CannotCheck(f"cannot read the bundle {source}: {exc}") from None


def _section(bundle: dict, name: str) -> dict:
    if name not in bundle:
        raise CannotCheck(f"the bundle has no {name}")
    if not isinstance(bundle[name], dict):
        raise CannotCheck(f"the bundle's {name} must be a JSON object")
    return bundle[name]


def _field(section: dict, path: str) -> Any:
    key = path.split(".")[-1]
    if key not in section:
        raise CannotCheck(f"the bundle's {path} is missing")
    return section[key]


def _bytes32(value: object, path: str) -> bytes:
    text = value if isinstance(value, str) else ""
    try:
        raw = bytes.fromhex(text[2:]) if text[:2] in ("0x", "0X") else b""
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise CannotCheck(f"the bundle's {path} must be a 0x-prefixed 32-byte hex string")
    return raw


def _address(value: object, path: str) -> str:
    text = value if isinstance(value, str) else ""
    body = text[2:] if text.startswith("0x") else ""
    if len(body) != 40 or any(c not in "0123456789abcdefABCDEF" for c in body):
        raise CannotCheck(f"the bundle's {path} must be a 0x-prefixed 20-byte address")
    if body not in (body.lower(), body.upper()) and not is_checksum_address(text):
        raise CannotCheck(f"the bundle's {path} has a wrong EIP-55 checksum (a mistyped address?)")
    return to_checksum_address(text)


def _integer(value: object, path: str, *, minimum: int = 0, bits: int = 256) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value < 2**bits:
        raise CannotCheck(f"the bundle's {path} must be an integer from {minimum} to 2**{bits} - 1")
    return value


def _credential_of(section: dict) -> Credential:
    scheme = _field(section, "credential.scheme")
    if scheme != CREDENTIAL_SCHEME:
        raise CannotCheck(f"unknown credential.scheme {scheme!r}: this verifier knows {CREDENTIAL_SCHEME!r}")
    document = _field(section, "credential.document")
    if not isinstance(document, dict) or not document:
        raise CannotCheck("the bundle's credential.document must be a non-empty JSON object")
    credential_type = _field(section, "credential.type")
    if credential_type is not None and not isinstance(credential_type, str):
        raise CannotCheck("the bundle's credential.type must be a string or null")
    return Credential(
        scheme=scheme,
        document=document,
        fingerprint=_bytes32(_field(section, "credential.fingerprint"), "credential.fingerprint"),
        type=credential_type,
        type_hash=_bytes32(_field(section, "credential.type_hash"), "credential.type_hash"),
        subject=_address(_field(section, "credential.subject"), "credential.subject"),
        issuer=_address(_field(section, "credential.issuer"), "credential.issuer"),
        expires_at=_integer(_field(section, "credential.expires_at"), "credential.expires_at", bits=64),
    )


def _proof_of(value: object) -> tuple[bytes, ...]:
    if not isinstance(value, list):
        raise CannotCheck("the bundle's anchor.proof must be a list of 32-byte hex strings")
    return tuple(_bytes32(item, f"anchor.proof[{i}]") for i, item in enumerate(value))


def _anchor_of(section: dict) -> Anchor:
    kind = _field(section, "anchor.kind")
    if kind not in ("single", "batch"):
        raise CannotCheck('the bundle\'s anchor.kind must be "single" or "batch"')
    single = kind == "single"
    if not single and _field(section, "anchor.leaf_encoding") != LEAF_ENCODING:
        raise CannotCheck(f"the bundle's anchor.leaf_encoding must be {json.dumps(LEAF_ENCODING)}")
    return Anchor(
        kind=kind,
        chain_id=_integer(_field(section, "anchor.chain_id"), "anchor.chain_id", minimum=1),
        contract=_address(_field(section, "anchor.contract"), "anchor.contract"),
        tx_hash=_bytes32(_field(section, "anchor.tx_hash"), "anchor.tx_hash"),
        block_number=_integer(_field(section, "anchor.block_number"), "anchor.block_number", bits=64),
        credential_id=(
            _integer(_field(section, "anchor.credential_id"), "anchor.credential_id", minimum=1)
            if single
            else None
        ),
        root=None if single else _bytes32(_field(section, "anchor.root"), "anchor.root"),
        leaf=None if single else _bytes32(_field(section, "anchor.leaf"), "anchor.leaf"),
        proof=() if single else _proof_of(_field(section, "anchor.proof")),
    )


def bundle_of(data: object) -> Bundle:
    """The bundle, every field checked for shape; CannotCheck names the first bad field."""
    if not isinstance(data, dict):
        raise CannotCheck("the bundle is not a JSON object")
    if "format" not in data:
        raise CannotCheck("the bundle's format is missing")
    if data["format"] != BUNDLE_FORMAT:
        raise CannotCheck(f"unknown bundle format {data['format']!r}: this verifier reads {BUNDLE_FORMAT!r}")
    return Bundle(
        credential=_credential_of(_section(data, "credential")),
        anchor=_anchor_of(_section(data, "anchor")),
    )


# ---------------------------------------------------------------- fingerprints and leaves


def _as_json_number(value: int) -> int | float:
    """JSON numbers are doubles: beyond ±(2**53 − 1) an integer is its double when that denotes exactly
    the same number (RFC 8785 §3.2.2.3), else it has no faithful canonical form and is refused."""
    if -SAFE_INTEGER <= value <= SAFE_INTEGER:
        return value
    try:
        double = float(value)
    except OverflowError:
        raise CannotCheck(f"the document's number {value} is beyond the range of a JSON number") from None
    if Decimal(rfc8785.dumps(double).decode()) != Decimal(value):
        raise CannotCheck(
            f"the document's number {value} is not exactly representable as a JSON number "
            f"(IEEE-754 double): it has no canonical form"
        )
    return double


def _numbers_as_doubles(value: object) -> object:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return _as_json_number(value)
    if isinstance(value, dict):
        return {key: _numbers_as_doubles(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_numbers_as_doubles(item) for item in value]
    return value


def canonical_credential(credential: Credential) -> bytes:
    """RFC 8785 JSON of {"scheme": scheme, "document": document}: what the fingerprint hashes."""
    value = {"scheme": credential.scheme, "document": credential.document}
    try:
        return rfc8785.dumps(_numbers_as_doubles(value))
    except (rfc8785.CanonicalizationError, UnicodeEncodeError, RecursionError) as exc:
        raise CannotCheck(f"the bundle's credential.document has no RFC 8785 form: {exc}") from None


def fingerprint_of(credential: Credential) -> bytes:
    return keccak(canonical_credential(credential))


def batch_leaf(credential: Credential) -> bytes:
    """OpenZeppelin's StandardMerkleTree leaf of (fingerprint, subject, type_hash, expires_at)."""
    values = [credential.fingerprint, credential.subject, credential.type_hash, credential.expires_at]
    return keccak(keccak(abi_encode(LEAF_ENCODING, values)))


def merkle_root_of(leaf: bytes, proof: tuple[bytes, ...]) -> bytes:
    """What OpenZeppelin's MerkleProof.verify computes: sorted-pair hashing from the leaf up."""
    node = leaf
    for sibling in proof:
        node = keccak(node + sibling) if node < sibling else keccak(sibling + node)
    return node


# ---------------------------------------------------------------- the chain, read at one block


@dataclass(frozen=True)
class Chain:
    w3: Web3
    abi: list
    chain_id: int
    block: int  # every read is made at this block
    block_time: int

    def vault(self, address: str):
        return self.w3.eth.contract(address=address, abi=self.abi)

    def read(self, vault, function: str, *args: Any) -> Any:
        return vault.functions[function](*args).call(block_identifier=self.block)


def load_vault_abi(path: Path) -> list:
    try:
        abi = json.loads(path.read_text(encoding="utf-8"))["abi"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CannotCheck(f"cannot read the CredentialVault ABI from {path}: {exc}") from None
    if not isinstance(abi, list):
        raise CannotCheck(f"cannot read the CredentialVault ABI from {path}: its abi is not a list")
    return abi


def open_chain(rpc: str, abi: list) -> Chain:
    """The node's chain id and head: the block every later read is made at."""
    w3 = Web3(Web3.HTTPProvider(rpc, request_kwargs={"timeout": 30}))
    try:
        block = w3.eth.block_number
        return Chain(
            w3=w3,
            abi=abi,
            chain_id=w3.eth.chain_id,
            block=block,
            block_time=w3.eth.get_block(block)["timestamp"],
        )
    except (OSError, ValueError, Web3Exception) as exc:
        raise CannotCheck(
            f"cannot read the chain at {rpc} ({type(exc).__name__}): is the URL right and the node up?"
        ) from None


def utc(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def hex0x(raw: bytes) -> str:
    return "0x" + bytes(raw).hex()


# ---------------------------------------------------------------- the checks


@dataclass(frozen=True)
class Check:
    step: str
    ok: bool | None
    detail: str

    def as_json(self) -> dict:
        return {"step": self.step, "ok": self.ok, "detail": self.detail}


def moot(steps: tuple[str, ...], why: str) -> list[Check]:
    return [Check(step, None, f"Not checked: {why}.") for step in steps]


def check_fingerprint(credential: Credential) -> Check:
    computed = fingerprint_of(credential)
    if computed != credential.fingerprint:
        return Check(
            "fingerprint",
            False,
            f"The document hashes to {hex0x(computed)}, not the bundle's fingerprint "
            f"{hex0x(credential.fingerprint)}: it was altered.",
        )
    return Check(
        "fingerprint",
        True,
        f"The document (RFC 8785 JSON under {credential.scheme}) hashes to the bundle's fingerprint "
        f"{hex0x(computed)}.",
    )


def _answers_as_vault(chain: Chain, address: str) -> bool:
    try:
        chain.read(chain.vault(address), "credentialCount")
        chain.read(chain.vault(address), "batchCount")
    except (ContractLogicError, BadFunctionCallOutput):
        return False
    return True


def check_contract(anchor: Anchor, chain: Chain, trusted_vault: str | None) -> Check:
    if chain.chain_id != anchor.chain_id:
        return Check(
            "contract",
            False,
            f"The node is chain {chain.chain_id}, not the bundle's chain {anchor.chain_id}.",
        )
    if trusted_vault is not None and anchor.contract != trusted_vault:
        return Check(
            "contract",
            False,
            f"The bundle names the contract {anchor.contract}, not the CredentialVault you trust "
            f"({trusted_vault}).",
        )
    if not chain.w3.eth.get_code(anchor.contract, block_identifier=chain.block):
        return Check(
            "contract", False, f"There is no contract at {anchor.contract} on chain {chain.chain_id}."
        )
    if not _answers_as_vault(chain, anchor.contract):
        return Check(
            "contract", False, f"The contract at {anchor.contract} does not answer as a CredentialVault."
        )
    trust = (
        "the CredentialVault you trust (--vault)"
        if trusted_vault is not None
        else "the CredentialVault the bundle names, trusted as is (--trust-bundle-contract): "
        "nothing here checked it is the issuer's vault"
    )
    return Check("contract", True, f"Chain {chain.chain_id}; {anchor.contract} is {trust}.")


def _type_mismatch(credential: Credential) -> str | None:
    if credential.type is None or keccak(text=credential.type) == credential.type_hash:
        return None
    return (
        f"The type {credential.type!r} does not hash to the bundle's type_hash {hex0x(credential.type_hash)}."
    )


def _single_mismatch(credential: Credential, anchor: Anchor, status: tuple) -> str | None:
    exists, _revoked, _expired, _issued, _revoked_at, expires_at, fingerprint, institution, subject = status
    name = f"Credential {anchor.credential_id}"
    if not exists:
        return f"The vault has no credential {anchor.credential_id}: altered or never issued."
    if fingerprint != credential.fingerprint:
        return f"{name} in the vault has another fingerprint ({hex0x(fingerprint)})."
    if institution != credential.issuer:
        return f"{name} in the vault was issued by {institution}, not by {credential.issuer}."
    if subject != credential.subject:
        return f"{name} in the vault was issued to {subject}, not to {credential.subject}."
    if expires_at != credential.expires_at:
        return f"{name} in the vault expires at {expires_at}, not at the bundle's {credential.expires_at}."
    return None


def check_single_anchored(credential: Credential, anchor: Anchor, chain: Chain, vault) -> Check:
    mismatch = _type_mismatch(credential) or _single_mismatch(
        credential, anchor, chain.read(vault, "credentialStatus", anchor.credential_id)
    )
    if mismatch:
        return Check("anchored", False, mismatch)
    return Check(
        "anchored",
        True,
        f"Credential {anchor.credential_id} in the vault has this fingerprint, subject, issuer and expiry.",
    )


def _batch_mismatch(credential: Credential, anchor: Anchor, batch: tuple) -> str | None:
    anchored, _batch_id, institution, _count, _anchored_at = batch
    if batch_leaf(credential) != anchor.leaf:
        return "The leaf is not the hash of the credential's fingerprint, subject, type_hash and expires_at."
    if merkle_root_of(anchor.leaf, anchor.proof) != anchor.root:
        return "The proof does not lead from the leaf to the root: it is another leaf's, or was altered."
    if not anchored:
        return f"The root {hex0x(anchor.root)} is not anchored in this vault."
    if institution != credential.issuer:
        return f"The root was anchored by {institution}, not by the issuer {credential.issuer}."
    return None


def check_batch_anchored(credential: Credential, anchor: Anchor, chain: Chain, vault) -> Check:
    batch = chain.read(vault, "batchOf", anchor.root)
    mismatch = _type_mismatch(credential) or _batch_mismatch(credential, anchor, batch)
    if mismatch:
        return Check("anchored", False, mismatch)
    _anchored, batch_id, institution, count, anchored_at = batch
    return Check(
        "anchored",
        True,
        f"The leaf hashes the credential's fields and its proof leads to the root of batch {batch_id} "
        f"({count} credentials), anchored by {institution} on {utc(anchored_at)}.",
    )


def _vault_events(receipt, vault) -> list[tuple[str, Any]]:
    """(event name, args) of the receipt's logs emitted by the vault that anchor something."""
    events = []
    for log in receipt["logs"]:
        if log["address"] != vault.address or not log["topics"]:
            continue
        for name in ("CredentialIssued", "BatchAnchored"):
            event = vault.events[name]()
            if bytes(log["topics"][0]) == bytes.fromhex(event.topic.removeprefix("0x")):
                events.append((name, event.process_log(log)["args"]))
    return events


def _anchors_this(name: str, args: Any, credential: Credential, anchor: Anchor) -> bool:
    if anchor.kind == "single":
        return name == "CredentialIssued" and (
            args["id"] == anchor.credential_id
            and args["fingerprint"] == credential.fingerprint
            and args["institution"] == credential.issuer
            and args["subject"] == credential.subject
            and args["credentialType"] == credential.type_hash
            and args["expiresAt"] == credential.expires_at
        )
    return (
        name == "BatchAnchored" and args["root"] == anchor.root and args["institution"] == credential.issuer
    )


def _receipt_of(chain: Chain, tx_hash: bytes):
    try:
        return chain.w3.eth.get_transaction_receipt(tx_hash)
    except TransactionNotFound:
        return None


def _in_canonical_block(chain: Chain, receipt, anchor: Anchor) -> bool:
    block = chain.w3.eth.get_block(anchor.block_number)
    return block["hash"] == receipt["blockHash"] and anchor.tx_hash in [
        bytes(t) for t in block["transactions"]
    ]


def _transaction_problem(bundle: Bundle, chain: Chain, vault) -> str | None:
    anchor, tx = bundle.anchor, hex0x(bundle.anchor.tx_hash)
    receipt = _receipt_of(chain, anchor.tx_hash)
    if receipt is None:
        return f"There is no transaction {tx} on this chain."
    if receipt["status"] != 1:
        return f"Transaction {tx} failed (reverted)."
    if receipt["blockNumber"] != anchor.block_number:
        return (
            f"Transaction {tx} is in block {receipt['blockNumber']}, "
            f"not in the bundle's block {anchor.block_number}."
        )
    if anchor.block_number > chain.block:
        return f"Block {anchor.block_number} is after the block this check reads at ({chain.block})."
    if not _in_canonical_block(chain, receipt, anchor):
        return (
            f"Block {anchor.block_number} of the chain (read at block {chain.block}) "
            f"does not hold transaction {tx}: it is not canonical."
        )
    events = _vault_events(receipt, vault)
    if not any(_anchors_this(name, args, bundle.credential, anchor) for name, args in events):
        what = (
            f"CredentialIssued of credential {anchor.credential_id} with these fields"
            if anchor.kind == "single"
            else f"BatchAnchored of root {hex0x(anchor.root)} by {bundle.credential.issuer}"
        )
        return f"Transaction {tx} did not anchor this credential: the vault logged no {what}."
    return None


def check_transaction(bundle: Bundle, chain: Chain, vault) -> Check:
    problem = _transaction_problem(bundle, chain, vault)
    if problem:
        return Check("transaction", False, problem)
    confirmations = chain.block - bundle.anchor.block_number
    plural = "s" if confirmations != 1 else ""
    return Check(
        "transaction",
        True,
        f"Transaction {hex0x(bundle.anchor.tx_hash)} succeeded in canonical block "
        f"{bundle.anchor.block_number} and anchored this credential; {confirmations} confirmation{plural} "
        f"(blocks on top of it, read at block {chain.block}).",
    )


def check_not_revoked(bundle: Bundle, chain: Chain, vault) -> Check:
    anchor = bundle.anchor
    if anchor.kind == "single":
        status = chain.read(vault, "credentialStatus", anchor.credential_id)
        revoked, revoked_at = status[1], status[4]
        if revoked:
            return Check("not_revoked", False, f"Revoked by the issuer on {utc(revoked_at)}.")
    elif chain.read(vault, "isLeafRevoked", anchor.root, anchor.leaf):
        return Check("not_revoked", False, "Revoked by the issuer (this leaf of its batch).")
    return Check("not_revoked", True, "Not revoked.")


def check_not_expired(credential: Credential, chain: Chain) -> Check:
    if credential.expires_at == 0:
        return Check("not_expired", True, "Does not expire.")
    if credential.expires_at <= chain.block_time:
        return Check(
            "not_expired",
            False,
            f"Expired on {utc(credential.expires_at)} (block {chain.block} is of {utc(chain.block_time)}).",
        )
    return Check("not_expired", True, f"Valid until {utc(credential.expires_at)}.")


def check_issuer_active(credential: Credential, chain: Chain, vault) -> Check:
    known, active, _kyc_provider, name, _metadata_uri = chain.read(vault, "institutionOf", credential.issuer)
    who = f"{name} ({credential.issuer})" if name else credential.issuer
    if not known:
        return Check(
            "issuer_active", False, f"The vault does not know {credential.issuer} as an institution."
        )
    if not active:
        return Check("issuer_active", False, f"{who} is no longer an active institution.")
    return Check("issuer_active", True, f"Issued by {who}, an active institution.")


def run_checks(bundle: Bundle, chain: Chain, trusted_vault: str | None) -> list[Check]:
    """Every step of docs/proof-bundles.md, in order; a step an earlier failure made moot is None."""
    checks = [check_fingerprint(bundle.credential), check_contract(bundle.anchor, chain, trusted_vault)]
    if not checks[-1].ok:
        return checks + moot(STEPS[2:], "the chain or the contract is not the one trusted")
    vault = chain.vault(bundle.anchor.contract)
    anchored = (check_single_anchored if bundle.anchor.kind == "single" else check_batch_anchored)(
        bundle.credential, bundle.anchor, chain, vault
    )
    checks += [anchored, check_transaction(bundle, chain, vault)]
    if not anchored.ok:
        return checks + moot(STEPS[4:], "nothing with these fields is anchored")
    return [
        *checks,
        check_not_revoked(bundle, chain, vault),
        check_not_expired(bundle.credential, chain),
        check_issuer_active(bundle.credential, chain, vault),
    ]


def outcome_of(checks: list[Check]) -> str:
    failures = {FAILURE_OF_STEP[check.step] for check in checks if check.ok is False}
    return next((outcome for outcome in OUTCOME_PRECEDENCE if outcome in failures), "valid")


# ---------------------------------------------------------------- the command line


def report_text(checks: list[Check], outcome: str) -> str:
    width = max(len(step) for step in STEPS)
    lines = [f"{MARKS[check.ok]} {check.step:<{width}}  {check.detail}" for check in checks]
    lines.append("Result: VALID" if outcome == "valid" else f"Result: NOT VALID ({outcome})")
    return "\n".join(lines)


def report_json(checks: list[Check], outcome: str) -> str:
    answer = {"outcome": outcome, "valid": outcome == "valid", "checks": [c.as_json() for c in checks]}
    return json.dumps(answer, indent=2, ensure_ascii=False)


def trusted_vault_of(args: argparse.Namespace) -> str | None:
    if args.trust_bundle_contract:
        return None
    try:
        return _address(args.vault, "--vault")
    except CannotCheck:
        raise CannotCheck("--vault must be a 0x-prefixed 20-byte address (with a valid checksum)") from None


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="verify_bundle.py",
        description="Check a LedgerBridge proof bundle against the chain (exit 0 valid, 1 not valid, "
        "2 could not check).",
    )
    parser.add_argument("bundle", metavar="BUNDLE.json", help="the proof bundle, or - for standard input")
    parser.add_argument("--rpc", required=True, metavar="URL", help="a JSON-RPC node of the bundle's chain")
    trust = parser.add_mutually_exclusive_group(required=True)
    trust.add_argument("--vault", metavar="0xADDR", help="the CredentialVault address you trust")
    trust.add_argument(
        "--trust-bundle-contract",
        action="store_true",
        help="accept the vault address the bundle names (the contract check then proves nothing about it)",
    )
    parser.add_argument("--abi", type=Path, default=DEFAULT_ABI, metavar="PATH", help="CredentialVault.json")
    parser.add_argument("--json", action="store_true", help="print the checks as JSON")
    return parser.parse_args(argv)


def verify(args: argparse.Namespace) -> tuple[list[Check], str]:
    trusted_vault = trusted_vault_of(args)
    bundle = bundle_of(parse_json(read_bundle_text(args.bundle)))
    canonical_credential(bundle.credential)  # a document with no canonical form: refused before any read
    chain = open_chain(args.rpc, load_vault_abi(args.abi))
    try:
        checks = run_checks(bundle, chain, trusted_vault)
    except (OSError, ValueError, Web3Exception) as exc:
        raise CannotCheck(f"reading the chain at {args.rpc} failed: {type(exc).__name__}: {exc}") from None
    return checks, outcome_of(checks)


def cannot_check(message: str) -> int:
    print(f"verify_bundle: cannot check: {' '.join(message.split())}", file=sys.stderr)
    return EXIT_CANNOT_CHECK


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    try:
        checks, outcome = verify(args)
    except CannotCheck as exc:
        return cannot_check(str(exc))
    except Exception as exc:  # a verifier answers in words, never with a traceback
        return cannot_check(f"unexpected {type(exc).__name__}: {exc}")
    print(report_json(checks, outcome) if args.json else report_text(checks, outcome))
    return EXIT_VALID if outcome == "valid" else EXIT_NOT_VALID


if __name__ == "__main__":
    sys.exit(main())
