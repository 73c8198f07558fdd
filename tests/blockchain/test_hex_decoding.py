"""The indexer's hex decoder (`EventSpec.decode_hex`, logs as JSON-RPC gives them) against eth_abi:
every event of every compiled artifact, and the general types none of them uses yet."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from eth_abi import decode as abi_decode
from eth_abi import encode
from eth_utils import keccak

from blockchain.chain.abi import ContractInterface, load_artifact, to_json_value

ARTIFACTS = sorted(
    p.stem for p in (Path(__file__).resolve().parents[2] / "contracts" / "build").glob("*.json")
)


def _value(kind: str, rng: random.Random):
    """A random value of an ABI type, edges included (0, max, negative, empty, non-ASCII)."""
    if kind.endswith("]"):
        inner, size = kind[: kind.rfind("[")], kind[kind.rfind("[") + 1 : -1]
        return [_value(inner, rng) for _ in range(int(size) if size else rng.randint(0, 3))]
    if kind.startswith("("):
        return tuple(_value(k, rng) for k in _split_tuple(kind))
    if kind == "address":
        return rng.choice(["0x" + "00" * 20, "0x" + "ff" * 20, "0x" + rng.randbytes(20).hex()])
    if kind == "bool":
        return rng.random() < 0.5
    if kind.startswith("uint"):
        bits = int(kind[4:] or 256)
        return rng.choice([0, 1, 2**bits - 1, rng.getrandbits(bits)])
    if kind.startswith("int"):
        bits = int(kind[3:] or 256)
        return rng.choice(
            [0, -1, -(2 ** (bits - 1)), 2 ** (bits - 1) - 1, rng.getrandbits(bits - 1) - 2 ** (bits - 2)]
        )
    if kind == "string":
        return rng.choice(
            ["", "L-1", 'quote " back\\slash \t tab\nline', "ünïcödé € 😀 " * rng.randint(1, 9)]
        )
    if kind == "bytes":
        return rng.randbytes(rng.choice([0, 1, 31, 32, 33, 100]))
    if kind.startswith("bytes"):
        return rng.randbytes(int(kind[5:]))
    raise AssertionError(f"no sample for {kind}")


def _split_tuple(kind: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in kind[1:-1]:
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += {"(": 1, ")": -1}.get(char, 0)
        current += char
    return [*parts, current] if current else parts


def _is_dynamic_topic(kind: str) -> bool:
    return kind in ("string", "bytes") or kind.endswith("]") or kind.startswith("(")


def _log(spec, rng: random.Random) -> tuple[list[bytes], bytes, dict]:
    """Topics, data and eth_abi's own reading of them (the expected arguments)."""
    topics = [spec.topic0]
    expected = {}
    for name, kind in spec.indexed:
        if _is_dynamic_topic(kind):
            topic = keccak(text=f"{name}-{rng.random()}")  # an indexed dynamic value is its hash
            expected[name] = "0x" + topic.hex()
        else:
            topic = encode([kind], [_value(kind, rng)])
            expected[name] = to_json_value(abi_decode([kind], topic)[0], kind)
        topics.append(topic)
    kinds = [k for _, k in spec.data]
    data = encode(kinds, [_value(k, rng) for k in kinds]) if kinds else b""
    for (name, kind), value in zip(spec.data, abi_decode(kinds, data) if kinds else (), strict=True):
        expected[name] = to_json_value(value, kind)
    return topics, data, {name: expected[name] for name in spec.order}


def _hex(topics: list[bytes], data: bytes) -> tuple[list[str], str]:
    return ["0x" + t.hex() for t in topics], "0x" + data.hex()


def test_the_artifacts_have_events_to_compare():
    assert sum(len(load_artifact(a).interface.events_by_name) for a in ARTIFACTS) >= 20


@pytest.mark.parametrize("artifact", ARTIFACTS)
def test_hex_decoder_agrees_with_eth_abi_on_every_event_of_every_artifact(artifact):
    specs = list(load_artifact(artifact).interface.events_by_name.values())
    rng = random.Random(artifact)
    for spec in specs:
        for _ in range(40):
            topics, data, expected = _log(spec, rng)
            hex_topics, hex_data = _hex(topics, data)
            decoded = spec.decode_hex(hex_topics, hex_data)
            assert decoded == expected, (artifact, spec.name)
            assert list(decoded) == list(spec.order)  # declaration order, like `decode`
            assert decoded == spec.decode(topics, data)
            # nodes write lowercase hex; upper case reads the same
            upper = ["0x" + t[2:].upper() for t in hex_topics], "0x" + hex_data[2:].upper()
            assert spec.decode_hex(*upper) == expected


GENERAL = [
    ("uint8", True),
    ("int256", True),
    ("int64", False),
    ("int8", False),
    ("bool", False),
    ("bytes4", False),
    ("bytes1", False),
    ("bytes", False),
    ("string", False),
]
COMPOSITE = [("bytes", True), ("uint256[]", False), ("address[2]", False), ("(uint256,string)", False)]


def _input(i: int, kind: str, indexed: bool) -> dict:
    if kind.startswith("("):
        components = [{"name": f"c{j}", "type": k} for j, k in enumerate(_split_tuple(kind))]
        return {"name": f"a{i}", "type": "tuple", "indexed": indexed, "components": components}
    return {"name": f"a{i}", "type": kind, "indexed": indexed}


@pytest.mark.parametrize(
    "inputs",
    [
        GENERAL,  # static and dynamic elementary types only: the hex path
        [("string", True), ("bool", True), *GENERAL[2:], *COMPOSITE],  # arrays, tuples: through `decode`
        [("string", False), ("bytes", False), ("string", False)],
        [],  # no arguments at all
    ],
)
def test_hex_decoder_agrees_with_eth_abi_on_general_types(inputs):
    abi = [
        {
            "type": "event",
            "name": "Everything",
            "anonymous": False,
            "inputs": [_input(i, kind, indexed) for i, (kind, indexed) in enumerate(inputs)],
        }
    ]
    spec = ContractInterface.from_abi("General", abi).events_by_name["Everything"]
    rng = random.Random(str(inputs))
    for _ in range(60):
        topics, data, expected = _log(spec, rng)
        assert spec.decode_hex(*_hex(topics, data)) == expected == spec.decode(topics, data)


def test_hex_decoder_on_repeated_argument_names_follows_decode():
    abi = [
        {
            "type": "event",
            "name": "Unnamed",
            "anonymous": False,
            "inputs": [
                {"name": "", "type": "address", "indexed": True},
                {"name": "", "type": "uint256", "indexed": False},
            ],
        }
    ]
    spec = ContractInterface.from_abi("General", abi).events_by_name["Unnamed"]
    topics = [spec.topic0, encode(["address"], ["0x" + "11" * 20])]
    data = encode(["uint256"], [7])
    assert spec.decode_hex(*_hex(topics, data)) == spec.decode(topics, data) == {"": 7}


def test_hex_decoder_refuses_what_decode_refuses():
    spec = load_artifact("LoanRegistry").interface.events_by_name["LoanStored"]
    rng = random.Random(1)
    topics, data, _expected = _log(spec, rng)
    hex_topics, hex_data = _hex(topics, data)
    with pytest.raises(ValueError, match="topics"):
        spec.decode_hex(hex_topics[:-1], hex_data)
    for cut in (hex_data[:40], hex_data[:-64], hex_data[:-1]):  # short head, short tail, odd length
        with pytest.raises(ValueError):
            spec.decode_hex(hex_topics, cut)
        with pytest.raises(ValueError):  # the bytes path refuses it too (bytes.fromhex or decode)
            spec.decode(topics, bytes.fromhex(cut[2:]))
