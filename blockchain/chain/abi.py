"""Contract interfaces from compiled artifacts: encode calls, decode events and custom errors by name.

Decoding uses eth_abi directly on raw logs (about 20x faster than web3's per-log `process_log`),
so the receipt path and the indexer can share it.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import function_signature_to_4byte_selector, keccak, to_checksum_address

PANIC_REASONS = {
    0x01: "assertion failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division by zero",
    0x21: "invalid enum value",
    0x22: "bad storage byte array encoding",
    0x31: "pop on empty array",
    0x32: "array index out of bounds",
    0x41: "out of memory",
    0x51: "call to an uninitialised function",
}


def canonical_type(param: dict) -> str:
    kind = param["type"]
    if kind.startswith("tuple"):
        return "(" + ",".join(canonical_type(c) for c in param["components"]) + ")" + kind[len("tuple") :]
    return kind


@functools.lru_cache(maxsize=65536)
def checksum_address(address: str) -> str:
    """EIP-55 form of an address; cached, since decoding sees the same few addresses again and
    again and the checksum costs a keccak in Python."""
    return to_checksum_address(address)


def to_json_value(value: Any, abi_type: str) -> Any:
    """Turn an eth_abi value into JSON: bytes as 0x-hex, addresses EIP-55, big ints kept as int."""
    if isinstance(value, (list, tuple)):
        inner = abi_type[: abi_type.rfind("[")] if abi_type.endswith("]") else abi_type
        return [to_json_value(v, inner) for v in value]
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if abi_type == "address":
        return checksum_address(value)
    return value


@dataclass(frozen=True)
class EventSpec:
    name: str
    signature: str
    topic0: bytes
    indexed: tuple[tuple[str, str], ...]  # (name, canonical type)
    data: tuple[tuple[str, str], ...]
    order: tuple[str, ...]  # argument names in declaration order

    def decode(self, topics: list[bytes], data: bytes) -> dict[str, Any]:
        args: dict[str, Any] = {}
        if len(topics) != len(self.indexed) + 1:
            raise ValueError(f"{self.name}: expected {len(self.indexed) + 1} topics, got {len(topics)}")
        for (name, kind), topic in zip(self.indexed, topics[1:], strict=True):
            if kind in ("string", "bytes") or kind.endswith("]") or kind.startswith("("):
                args[name] = "0x" + topic.hex()  # dynamic indexed values are stored as their hash
            else:
                args[name] = decode_word(topic, kind)
        if self.data:
            if self.fast_data:
                for (name, _kind), value in zip(self.data, decode_simple(data, self.data), strict=True):
                    args[name] = value
            else:
                values = abi_decode([k for _, k in self.data], data)
                for (name, kind), value in zip(self.data, values, strict=True):
                    args[name] = to_json_value(value, kind)
        return {name: args[name] for name in self.order}

    @functools.cached_property
    def fast_data(self) -> bool:
        return all(_is_simple(kind) for _, kind in self.data)

    def decode_hex(self, topics: list[str], data: str | None) -> dict[str, Any]:
        """`decode` for a log as JSON-RPC gives it (0x-hex topics and data), without converting to
        bytes first: the indexer's hot path. Same values, same errors as `decode` (the tests
        compare both, and with eth_abi, for every event of every artifact)."""
        if len(topics) != len(self.indexed) + 1:
            raise ValueError(f"{self.name}: expected {len(self.indexed) + 1} topics, got {len(topics)}")
        plan = self._hex_plan
        if plan is None:  # arrays or tuples in the data: eth_abi
            raw = bytes.fromhex(data[2:]) if data and data != "0x" else b""
            return self.decode([bytes.fromhex(t[2:]) for t in topics], raw)
        words = data[2:] if data else ""
        if len(words) < plan.head or len(words) & 1:
            raise ValueError("log data is shorter than its ABI says")
        args = {}
        for name, topic, offset, convert in plan.steps:
            if topic:
                args[name] = convert(topics[topic][2:])
            elif convert is None:
                args[name] = _hex_dynamic(words, offset, string=False)
            elif convert is str:
                args[name] = _hex_dynamic(words, offset, string=True)
            else:
                args[name] = convert(words[offset : offset + 64])
        return args

    @functools.cached_property
    def _hex_plan(self) -> _HexPlan | None:
        if not self.fast_data or len(set(self.order)) != len(self.order):
            return None  # unnamed or repeated names: `decode`'s own rules decide
        indexed = {name: (i + 1, kind) for i, (name, kind) in enumerate(self.indexed)}
        data = {name: (64 * i, kind) for i, (name, kind) in enumerate(self.data)}
        steps = []
        for name in self.order:
            if name in indexed:
                position, kind = indexed[name]
                steps.append((name, position, 0, _hex_topic_converter(kind)))
            else:
                offset, kind = data[name]
                convert = {"string": str, "bytes": None}.get(kind, _hex_word_converter(kind))
                steps.append((name, 0, offset, convert))
        return _HexPlan(head=64 * len(self.data), steps=tuple(steps))


@dataclass(frozen=True)
class _HexPlan:
    head: int  # hex digits of the data's static head
    steps: tuple[tuple[str, int, int, Any], ...]  # (name, topic position or 0, data offset, converter)


def _hex_word_converter(kind: str) -> Any:
    """A function of one 64-digit hex word, equal to `decode_word` on its bytes."""
    if kind == "address":
        return lambda word: checksum_address("0x" + word[24:])
    if kind == "bool":
        return lambda word: int(word[62:], 16) == 1
    if kind.startswith("uint"):
        return lambda word: int(word, 16)
    if kind.startswith("int"):
        return lambda word: (value - (1 << 256)) if (value := int(word, 16)) >> 255 else value
    if kind.startswith("bytes") and kind[5:].isdigit():
        digits = 2 * int(kind[5:])
        return lambda word: "0x" + word[:digits].lower()
    return lambda word: decode_word(bytes.fromhex(word), kind)


def _hex_topic_converter(kind: str) -> Any:
    if kind in ("string", "bytes") or kind.endswith("]") or kind.startswith("("):
        return lambda word: "0x" + word.lower()  # dynamic indexed values are stored as their hash
    simple = _hex_word_converter(kind)
    return lambda word: simple(word) if len(word) == 64 else decode_word(bytes.fromhex(word), kind)


def _hex_dynamic(words: str, offset: int, *, string: bool) -> str:
    """A `string` or `bytes` value whose head word is at hex digit `offset` of `words`."""
    start = 2 * int(words[offset : offset + 64], 16)
    length_word = words[start : start + 64]
    if len(length_word) != 64:
        raise ValueError("log data is shorter than its ABI says")
    digits = 2 * int(length_word, 16)
    raw = words[start + 64 : start + 64 + digits]
    if len(raw) != digits:
        raise ValueError("log data is shorter than its ABI says")
    return bytes.fromhex(raw).decode("utf-8", errors="replace") if string else "0x" + raw.lower()


# The indexer decodes tens of thousands of logs a second; for the ABI types our events use (static
# elementary types, string, bytes) reading the 32-byte words directly is several times faster than
# eth_abi's general decoder, and gives the same values (the tests compare both).
_DYNAMIC = ("string", "bytes")


def _is_simple(kind: str) -> bool:
    return (
        kind in _DYNAMIC
        or kind in ("address", "bool")
        or (kind.startswith(("uint", "int", "bytes")) and kind[-1].isdigit() and "[" not in kind)
    )


def decode_word(word: bytes, kind: str) -> Any:
    """One 32-byte ABI word of a static elementary type, as JSON-friendly as `to_json_value`."""
    if kind == "address":
        return checksum_address("0x" + word[12:].hex())
    if kind == "bool":
        return word[-1] == 1
    if kind.startswith("uint"):
        return int.from_bytes(word, "big")
    if kind.startswith("int"):
        return int.from_bytes(word, "big", signed=True)
    if kind.startswith("bytes"):
        return "0x" + word[: int(kind[5:])].hex()
    return to_json_value(abi_decode([kind], word)[0], kind)


def decode_simple(data: bytes, fields: tuple[tuple[str, str], ...]) -> list[Any]:
    """Decode a top-level tuple of simple types (see `_is_simple`)."""
    values = []
    for i, (_name, kind) in enumerate(fields):
        word = data[32 * i : 32 * i + 32]
        if len(word) != 32:
            raise ValueError("log data is shorter than its ABI says")
        if kind in _DYNAMIC:
            offset = int.from_bytes(word, "big")
            length_word = data[offset : offset + 32]
            if len(length_word) != 32:
                raise ValueError("log data is shorter than its ABI says")
            length = int.from_bytes(length_word, "big")
            raw = data[offset + 32 : offset + 32 + length]
            if len(raw) != length:
                raise ValueError("log data is shorter than its ABI says")
            values.append(raw.decode("utf-8", errors="replace") if kind == "string" else "0x" + raw.hex())
        else:
            values.append(decode_word(word, kind))
    return values


@dataclass(frozen=True)
class ErrorSpec:
    name: str
    signature: str
    selector: bytes
    inputs: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class DecodedError:
    name: str
    args: dict[str, Any]

    def __str__(self) -> str:
        if not self.args:
            return self.name
        return f"{self.name}(" + ", ".join(f"{k}={v}" for k, v in self.args.items()) + ")"


@dataclass(frozen=True)
class ContractInterface:
    """The ABI of one contract, indexed for fast encoding and decoding."""

    name: str
    abi: tuple[dict, ...]
    events_by_topic: dict[bytes, EventSpec] = field(default_factory=dict)
    events_by_name: dict[str, EventSpec] = field(default_factory=dict)
    errors_by_selector: dict[bytes, ErrorSpec] = field(default_factory=dict)
    functions: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def from_abi(cls, name: str, abi: list[dict]) -> ContractInterface:
        iface = cls(name=name, abi=tuple(abi))
        for item in abi:
            if item["type"] == "event" and not item.get("anonymous"):
                types = [canonical_type(i) for i in item["inputs"]]
                signature = f"{item['name']}({','.join(types)})"
                spec = EventSpec(
                    name=item["name"],
                    signature=signature,
                    topic0=keccak(text=signature),
                    indexed=tuple(
                        (i["name"], t) for i, t in zip(item["inputs"], types, strict=True) if i["indexed"]
                    ),
                    data=tuple(
                        (i["name"], t) for i, t in zip(item["inputs"], types, strict=True) if not i["indexed"]
                    ),
                    order=tuple(i["name"] for i in item["inputs"]),
                )
                iface.events_by_topic[spec.topic0] = spec
                iface.events_by_name[spec.name] = spec
            elif item["type"] == "error":
                types = [canonical_type(i) for i in item["inputs"]]
                signature = f"{item['name']}({','.join(types)})"
                iface.errors_by_selector[function_signature_to_4byte_selector(signature)] = ErrorSpec(
                    name=item["name"],
                    signature=signature,
                    selector=function_signature_to_4byte_selector(signature),
                    inputs=tuple((i["name"], t) for i, t in zip(item["inputs"], types, strict=True)),
                )
            elif item["type"] == "function":
                types = [canonical_type(i) for i in item["inputs"]]
                # Overloads (ERC-721 safeTransferFrom) are reachable by full signature; the bare
                # name means the first declared.
                iface.functions[f"{item['name']}({','.join(types)})"] = item
                iface.functions.setdefault(item["name"], item)
        return iface

    @functools.cached_property
    def events_by_topic_hex(self) -> dict[str, EventSpec]:
        """Events by their topic0 as JSON-RPC writes it (0x + lowercase hex)."""
        return {"0x" + topic.hex(): spec for topic, spec in self.events_by_topic.items()}

    def encode_call(self, function: str, args: list | tuple) -> bytes:
        """Calldata for `function(args)` (selector + ABI-encoded arguments)."""
        item = self.functions.get(function)
        if item is None:
            raise KeyError(f"{self.name} has no function {function!r}")
        types = [canonical_type(i) for i in item["inputs"]]
        if len(args) != len(types):
            raise ValueError(f"{self.name}.{function} takes {len(types)} arguments, got {len(args)}")
        selector = function_signature_to_4byte_selector(f"{item['name']}({','.join(types)})")
        return selector + abi_encode(types, list(args))

    def decode_output(self, function: str, data: bytes) -> tuple:
        item = self.functions[function]
        types = [canonical_type(o) for o in item["outputs"]]
        values = abi_decode(types, data)
        # Addresses come back EIP-55 checksummed, like everywhere else in the platform.
        pairs = zip(values, types, strict=True)
        return tuple(to_json_value(v, t) if t in ("address", "address[]") else v for v, t in pairs)

    def event_topic(self, event: str) -> bytes:
        return self.events_by_name[event].topic0

    def decode_error(self, revert_data: bytes | str | None) -> DecodedError:
        """Name a revert: one of this contract's custom errors, Error(string), Panic(uint256), or raw."""
        if isinstance(revert_data, str):
            revert_data = bytes.fromhex(revert_data.removeprefix("0x"))
        if not revert_data:
            return DecodedError("EmptyRevert", {})
        selector, body = revert_data[:4], revert_data[4:]
        spec = self.errors_by_selector.get(selector)
        if spec is not None:
            values = abi_decode([t for _, t in spec.inputs], body) if spec.inputs else ()
            return DecodedError(
                spec.name, {n: to_json_value(v, t) for (n, t), v in zip(spec.inputs, values, strict=True)}
            )
        if selector == function_signature_to_4byte_selector("Error(string)"):
            return DecodedError("Error", {"message": abi_decode(["string"], body)[0]})
        if selector == function_signature_to_4byte_selector("Panic(uint256)"):
            code = abi_decode(["uint256"], body)[0]
            return DecodedError("Panic", {"code": code, "reason": PANIC_REASONS.get(code, "unknown")})
        return DecodedError("UnknownError", {"data": "0x" + revert_data.hex()})


@dataclass(frozen=True)
class Artifact:
    name: str
    abi: list[dict]
    bytecode: str
    deployed_bytecode: str
    immutable_references: dict
    artifact_hash: str
    compiler_version: str
    raw: dict

    @functools.cached_property
    def interface(self) -> ContractInterface:
        return ContractInterface.from_abi(self.name, self.abi)

    def runtime_code_matches(self, onchain_code: bytes) -> bool:
        """Does code read from the chain equal this artifact's runtime code (immutables masked)?"""
        expected = bytearray(bytes.fromhex(self.deployed_bytecode.removeprefix("0x")))
        actual = bytearray(onchain_code)
        if len(expected) != len(actual):
            return False
        for refs in self.immutable_references.values():
            for ref in refs:
                start, length = ref["start"], ref["length"]
                expected[start : start + length] = b"\0" * length
                actual[start : start + length] = b"\0" * length
        return expected == actual


def artifacts_dir() -> Path:
    return Path(settings.CONTRACTS_BUILD_DIR)


@functools.cache
def load_artifact(name: str) -> Artifact:
    """The committed artifact contracts/build/<name>.json (cached per process)."""
    path = artifacts_dir() / f"{name}.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise LookupError(f"no compiled artifact for {name!r} at {path}") from None
    return Artifact(
        name=data["contractName"],
        abi=data["abi"],
        bytecode=data["bytecode"],
        deployed_bytecode=data["deployedBytecode"],
        immutable_references=data.get("immutableReferences", {}),
        artifact_hash=data["artifactHash"],
        compiler_version=data["compiler"]["version"],
        raw=data,
    )


def interface(name: str) -> ContractInterface:
    return load_artifact(name).interface


def bytes32_from_hex(value: str) -> bytes:
    """A 0x-hex bytes32 (hashes, fingerprints, refs as the DB stores them) as the 32 bytes the ABI wants."""
    raw = bytes.fromhex(value.removeprefix("0x"))
    if len(raw) != 32:
        raise ValueError(f"{value!r} is not 32 bytes")
    return raw
