"""How anvil and Hardhat Network word the same outcomes, and the one code path that reads both.

Every payload here was recorded from anvil 1.7.1 and Hardhat 2.29.1 (`hardhat node`) for the same
transactions on the deployed suite: a storeLoan for a loan id already stored (LoanAlreadyStored), a
call without the operator role, duplicates, stale nonces and replacements. No node is needed (these
run in the default run); the smoke suite (test_smoke.py) drives the same paths on live nodes.
"""

from __future__ import annotations

import pytest

from blockchain.chain.client import RpcError
from blockchain.models import ChainTransaction
from blockchain.outbox import confirmer
from blockchain.outbox.sender import (
    ALREADY_KNOWN,
    NONCE_TOO_LOW,
    UNDERPRICED,
    _matches,
    decode_revert,
    is_revert,
    mined_with_revert,
    revert_data,
)

ALREADY_STORED = "0x0c0035f78d5ddb982f42939b1ffc8518aca2cf7171ca205361facaa9f4a449525ff4c432"
LOAN_KEY = "0x8d5ddb982f42939b1ffc8518aca2cf7171ca205361facaa9f4a449525ff4c432"
TX_HASH = "0x08643430625190e2a9b2d13e4bdd5bc12ced694fad4b88d289a49be4ab76f304"
HARDHAT_VM = (
    "Error: VM Exception while processing transaction: reverted with an unrecognized custom error "
    f"(return data: {ALREADY_STORED})"
)

# eth_estimateGas / eth_call of storeLoan for a stored id (the sender's simulation, the replay).
ANVIL_CALL_REVERT = {
    "code": 3,
    "message": "execution reverted: custom error 0x0c0035f7: " + LOAN_KEY.removeprefix("0x"),
    "data": ALREADY_STORED,
}
HARDHAT_CALL_REVERT = {
    "code": -32603,
    "message": HARDHAT_VM,
    "data": {"message": HARDHAT_VM, "data": ALREADY_STORED},
}
# The same revert as a raw transaction: anvil mines it and answers the hash; an automining Hardhat
# mines it too (status 0 receipt) but answers the send with the revert and the transaction's hash.
HARDHAT_SEND_REVERT = {
    "code": -32603,
    "message": HARDHAT_VM,
    "data": {"message": HARDHAT_VM, "txHash": TX_HASH, "data": ALREADY_STORED},
}
# debug_traceTransaction(hash, {"tracer": "callTracer"}) of that mined revert.
ANVIL_CALL_TRACE = {
    "from": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
    "gas": "0x43b08",
    "gasUsed": "0x6eff",
    "to": "0xdc64a140aa3e981100a9beca4e685f962f0cf6c9",
    "output": ALREADY_STORED,
    "error": "execution reverted",
    "value": "0x0",
    "type": "CALL",
}
HARDHAT_NO_CALL_TRACER = {
    "code": -32602,
    "message": "Hardhat currently only supports the default tracer, so no tracer parameter should be passed. "
    "at line 1 column 137",
}
# debug_traceTransaction(hash, {disableStorage, disableMemory, disableStack}) on Hardhat (396 steps).
HARDHAT_STRUCT_TRACE = {
    "failed": True,
    "gas": 28415,
    "returnValue": ALREADY_STORED,
    "structLogs": [{"depth": 1, "gas": 277256, "gasCost": 3, "op": "PUSH1", "pc": 0}],
}
# eth_sendRawTransaction outcomes the sender classifies by wording.
SEND_OUTCOMES = {
    "nonce too low": [
        {"code": -32003, "message": "nonce too low"},
        {
            "code": -32000,
            "message": "Nonce too low. Expected nonce to be 7 but got 6. Note that transactions can't be "
            "queued when automining.",
        },
    ],
    "already known": [
        {"code": -32003, "message": "transaction already imported"},
        {"code": -32000, "message": f"Known transaction: {TX_HASH}"},
    ],
    "underpriced": [
        {"code": -32000, "message": "replacement transaction underpriced"},  # geth; anvil accepts any bump
        {
            "code": -32000,
            "message": "Replacement transaction underpriced. A gasPrice/maxFeePerGas of at least 11000000000 "
            "is necessary to replace the existing transaction with nonce 7.",
        },
    ],
}


def store_row(**fields) -> ChainTransaction:
    return ChainTransaction(
        contract_name="LoanRegistry",
        contract_address="0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9",
        calldata=b"\x47\x9c\x30\x11",
        signer="0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
        **fields,
    )


@pytest.mark.parametrize("payload", [ANVIL_CALL_REVERT, HARDHAT_CALL_REVERT], ids=["anvil", "hardhat"])
def test_a_simulated_revert_is_recognised_and_named_on_both_nodes(payload):
    error = RpcError("eth_estimateGas", payload)
    assert is_revert(error)
    assert revert_data(error) == ALREADY_STORED
    decoded = decode_revert(store_row(), error)
    assert decoded.name == "LoanAlreadyStored" and decoded.args == {"loanKey": LOAN_KEY}


def test_revert_data_only_in_the_message_is_still_found():
    """Hardhat's wording carries the bytes even where a proxy or client dropped `error.data`."""
    error = RpcError("eth_call", {"code": -32603, "message": HARDHAT_VM})
    assert is_revert(error) and revert_data(error) == ALREADY_STORED
    assert decode_revert(store_row(), error).name == "LoanAlreadyStored"


def test_ganache_style_revert_data_keyed_by_transaction_is_found():
    error = RpcError(
        "eth_call", {"code": -32000, "message": "VM Exception", "data": {TX_HASH: {"return": ALREADY_STORED}}}
    )
    assert decode_revert(store_row(), error).name == "LoanAlreadyStored"


@pytest.mark.parametrize(
    "payload",
    [
        {"code": -32000, "message": "insufficient funds for gas * price + value"},
        {"code": -32603, "message": "timeout"},
    ],
)
def test_a_node_failure_is_not_a_revert(payload):
    assert not is_revert(RpcError("eth_estimateGas", payload))


def test_a_revert_answered_at_broadcast_with_our_hash_counts_as_mined():
    row = store_row(tx_hash=TX_HASH)
    assert mined_with_revert(row, RpcError("eth_sendRawTransaction", HARDHAT_SEND_REVERT), w3=None)
    other = store_row(tx_hash="0x" + "ab" * 32)
    assert not mined_with_revert(other, RpcError("eth_sendRawTransaction", HARDHAT_SEND_REVERT), w3=None)


@pytest.mark.parametrize("outcome", sorted(SEND_OUTCOMES))
def test_broadcast_outcomes_are_worded_differently_and_classified_alike(outcome):
    phrases = {"nonce too low": NONCE_TOO_LOW, "already known": ALREADY_KNOWN, "underpriced": UNDERPRICED}
    for payload in SEND_OUTCOMES[outcome]:
        error = RpcError("eth_sendRawTransaction", payload)
        assert _matches(error, phrases[outcome]), payload
        assert not mined_with_revert(store_row(tx_hash=TX_HASH), error, w3=None)
        for other, words in phrases.items():
            if other != outcome:
                assert not _matches(error, words), (payload, other)


def fake_node(monkeypatch, answers: dict[str, list]) -> list[tuple[str, list]]:
    """confirmer.rpc_call answering each method from `answers` in turn (an RpcError payload raises)."""
    calls: list[tuple[str, list]] = []

    def rpc_call(_w3, method, params):
        calls.append((method, params))
        answer = answers[method].pop(0)
        if isinstance(answer, dict) and "code" in answer and "message" in answer:
            raise RpcError(method, answer)
        return answer

    monkeypatch.setattr(confirmer, "rpc_call", rpc_call)
    return calls


def mined_revert() -> ChainTransaction:
    return store_row(tx_hash=TX_HASH, gas_limit=300_000, gas_used=0x6EFF)


def test_the_confirmer_reads_anvils_call_trace(monkeypatch):
    calls = fake_node(monkeypatch, {"debug_traceTransaction": [ANVIL_CALL_TRACE]})
    reason = confirmer._revert_reason(mined_revert(), 7, w3=None)
    assert reason == {"name": "LoanAlreadyStored", "args": {"loanKey": LOAN_KEY}}
    assert [method for method, _ in calls] == ["debug_traceTransaction"]


def test_the_confirmer_reads_hardhats_default_trace_when_the_call_tracer_is_refused(monkeypatch):
    calls = fake_node(monkeypatch, {"debug_traceTransaction": [HARDHAT_NO_CALL_TRACER, HARDHAT_STRUCT_TRACE]})
    reason = confirmer._revert_reason(mined_revert(), 7, w3=None)
    assert reason == {"name": "LoanAlreadyStored", "args": {"loanKey": LOAN_KEY}}
    assert calls[1][1][1] == confirmer._STRUCT_LOG_LEAN  # no stack, memory or storage copied per step


def test_hardhats_return_value_without_0x_is_read_too(monkeypatch):
    bare = {**HARDHAT_STRUCT_TRACE, "returnValue": ALREADY_STORED.removeprefix("0x")}
    fake_node(monkeypatch, {"debug_traceTransaction": [HARDHAT_NO_CALL_TRACER, bare]})
    assert confirmer._revert_reason(mined_revert(), 7, w3=None)["name"] == "LoanAlreadyStored"


@pytest.mark.parametrize("replayed", [ANVIL_CALL_REVERT, HARDHAT_CALL_REVERT], ids=["anvil", "hardhat"])
def test_without_a_debug_api_the_confirmer_replays_and_names_either_nodes_error(monkeypatch, replayed):
    no_debug = {
        "code": -32601,
        "message": "the method debug_traceTransaction does not exist/is not available",
    }
    calls = fake_node(
        monkeypatch,
        {"debug_traceTransaction": [no_debug, no_debug], "eth_call": [None, replayed]},
    )
    reason = confirmer._revert_reason(mined_revert(), 7, w3=None)
    assert reason == {"name": "LoanAlreadyStored", "args": {"loanKey": LOAN_KEY}}
    # Before its block the call succeeded (an earlier transaction of the same block stored the id).
    assert [params[1] for method, params in calls if method == "eth_call"] == ["0x6", "0x7"]
