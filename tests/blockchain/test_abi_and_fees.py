"""ABI layer (event and custom-error decoding, call encoding) and EIP-1559 replacement bumps."""

import pytest
from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector, keccak

from blockchain.chain.abi import ContractInterface
from blockchain.chain.fees import FeeCapExceeded, Fees, bumped

ABI = [
    {
        "type": "event",
        "name": "LoanStored",
        "anonymous": False,
        "inputs": [
            {"name": "loanKey", "type": "bytes32", "indexed": True},
            {"name": "loanId", "type": "string", "indexed": False},
            {"name": "loanHash", "type": "bytes32", "indexed": False},
            {"name": "borrower", "type": "address", "indexed": True},
            {"name": "amounts", "type": "uint256[]", "indexed": False},
            {"name": "tag", "type": "string", "indexed": True},
        ],
    },
    {"type": "error", "name": "LoanAlreadyStored", "inputs": [{"name": "loanKey", "type": "bytes32"}]},
    {"type": "error", "name": "Unauthorized", "inputs": []},
    {
        "type": "function",
        "name": "storeLoan",
        "stateMutability": "nonpayable",
        "inputs": [{"name": "loanId", "type": "string"}, {"name": "who", "type": "address"}],
        "outputs": [],
    },
]
BORROWER = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"


@pytest.fixture
def iface():
    return ContractInterface.from_abi("LoanRegistry", ABI)


def test_event_decoding_in_declaration_order_with_json_friendly_values(iface):
    key = keccak(text="L-1")
    topics = [
        keccak(text="LoanStored(bytes32,string,bytes32,address,uint256[],string)"),
        key,
        encode(["address"], [BORROWER]),
        keccak(text="a-tag"),
    ]
    data = encode(["string", "bytes32", "uint256[]"], ["L-1", b"\x11" * 32, [1, 2**200]])
    spec = iface.events_by_topic[topics[0]]
    args = spec.decode(topics, data)
    assert list(args) == ["loanKey", "loanId", "loanHash", "borrower", "amounts", "tag"]
    assert args == {
        "loanKey": "0x" + key.hex(),
        "loanId": "L-1",
        "loanHash": "0x" + "11" * 32,
        "borrower": BORROWER,
        "amounts": [1, 2**200],
        "tag": "0x" + keccak(text="a-tag").hex(),  # an indexed string is only its hash
    }


def test_event_with_wrong_topic_count_is_refused(iface):
    spec = iface.events_by_name["LoanStored"]
    with pytest.raises(ValueError, match="topics"):
        spec.decode([spec.topic0], b"")


def test_custom_errors_are_named_with_arguments(iface):
    selector = function_signature_to_4byte_selector("LoanAlreadyStored(bytes32)")
    decoded = iface.decode_error("0x" + (selector + b"\x22" * 32).hex())
    assert decoded.name == "LoanAlreadyStored" and decoded.args == {"loanKey": "0x" + "22" * 32}
    assert str(iface.decode_error(function_signature_to_4byte_selector("Unauthorized()"))) == "Unauthorized"


def test_standard_and_unknown_reverts(iface):
    error_string = function_signature_to_4byte_selector("Error(string)") + encode(["string"], ["nope"])
    assert iface.decode_error(error_string).args == {"message": "nope"}
    panic = function_signature_to_4byte_selector("Panic(uint256)") + encode(["uint256"], [0x11])
    assert iface.decode_error(panic).args["reason"] == "arithmetic overflow or underflow"
    assert iface.decode_error(b"\xde\xad\xbe\xef").name == "UnknownError"
    assert iface.decode_error(None).name == "EmptyRevert"


def test_encode_call_matches_the_abi(iface):
    data = iface.encode_call("storeLoan", ["L-1", BORROWER])
    assert data[:4] == function_signature_to_4byte_selector("storeLoan(string,address)")
    assert data[4:] == encode(["string", "address"], ["L-1", BORROWER])
    with pytest.raises(ValueError, match="takes 2 arguments"):
        iface.encode_call("storeLoan", ["L-1"])
    with pytest.raises(KeyError):
        iface.encode_call("nope", [])


def test_replacement_fees_rise_at_least_12_5_percent_on_both_fields(settings):
    settings.CHAIN_MAX_FEE_GWEI = 1000
    previous = Fees(max_fee_per_gas=100_000_000_001, max_priority_fee_per_gas=7)
    new = bumped(previous)
    assert new.max_fee_per_gas * 1000 >= previous.max_fee_per_gas * 1125
    assert new.max_priority_fee_per_gas * 1000 >= previous.max_priority_fee_per_gas * 1125
    assert new.max_priority_fee_per_gas == 8  # ceil(7 * 1.125)


def test_replacement_respects_a_higher_floor_and_the_cap(settings):
    settings.CHAIN_MAX_FEE_GWEI = 10
    floor = Fees(max_fee_per_gas=5 * 10**9, max_priority_fee_per_gas=2 * 10**9)
    assert bumped(Fees(10**9, 10**8), floor=floor) == floor
    with pytest.raises(FeeCapExceeded):
        bumped(Fees(9 * 10**9, 10**9))


FAST_TYPES = ["address", "uint256", "uint64", "int256", "bool", "bytes32", "bytes4", "string", "bytes"]
SAMPLES = {
    "address": [BORROWER, "0x0000000000000000000000000000000000000000"],
    "uint256": [0, 1, 2**256 - 1],
    "uint64": [0, 2**64 - 1],
    "int256": [-(2**255), -1, 0, 2**255 - 1],
    "bool": [True, False],
    "bytes32": [b"\x00" * 32, bytes(range(32))],
    "bytes4": [b"\xde\xad\xbe\xef"],
    "string": ["", "L-1", "ünïcödé " * 20],
    "bytes": [b"", b"\x01\x02" * 40],
}


@pytest.mark.parametrize("kinds", [FAST_TYPES, ["string", "uint256", "string"], ["bytes", "address"]])
def test_fast_decoder_gives_what_eth_abi_gives(kinds):
    import itertools

    from blockchain.chain.abi import decode_simple, to_json_value

    fields = tuple((f"f{i}", k) for i, k in enumerate(kinds))
    for combo in itertools.islice(itertools.product(*(SAMPLES[k] for k in kinds)), 200):
        data = encode(kinds, list(combo))
        expected = [to_json_value(v, k) for v, k in zip(combo, kinds, strict=True)]
        assert decode_simple(data, fields) == expected


def test_fast_decoder_refuses_truncated_data():
    from blockchain.chain.abi import decode_simple

    data = encode(["uint256", "string"], [1, "hello"])
    with pytest.raises(ValueError):
        decode_simple(data[:40], (("a", "uint256"), ("b", "string")))
    with pytest.raises(ValueError):
        decode_simple(data[:-40], (("a", "uint256"), ("b", "string")))
