"""Helpers shared by the contract tests: accounts, sending, decoding events and named reverts.

Every write goes through anvil's unlocked dev accounts with `eth_sendTransaction` (account 0 is the
platform signer: OPERATOR_ROLE and DEFAULT_ADMIN_ROLE on every contract). Reverts are read from a
simulation (`BoundContract.estimate` raising ContractRevert) or from a mined failed transaction
replayed with `eth_call` on its parent block.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_utils import keccak, to_checksum_address
from web3 import Web3

from blockchain.chain.abi import DecodedError
from blockchain.chain.bindings import BoundContract, ContractRevert, bound
from blockchain.chain.client import build_web3
from blockchain.chain.signer import get_signer

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
ZERO32 = b"\0" * 32
OPERATOR_ROLE = keccak(text="OPERATOR_ROLE")
DEFAULT_ADMIN_ROLE = ZERO32
UINT128_MAX = 2**128 - 1
UINT256_MAX = 2**256 - 1


def h(label: str) -> bytes:
    """A deterministic non-zero bytes32 for a label."""
    return keccak(text=label)


def addr(value: str) -> str:
    """EIP-55 form (BoundContract.call returns addresses lower-case, decoded events checksummed)."""
    return to_checksum_address(value)


def hx(value: bytes) -> str:
    """bytes as the 0x-hex the ABI layer uses for bytes32 values in decoded args."""
    return "0x" + bytes(value).hex()


class TxFailed(AssertionError):
    pass


@dataclass
class Chain:
    """The session's anvil node and deployed suite, seen from one test."""

    node: Any  # AnvilNode
    suite: dict[str, str]  # contract name -> address
    w3: Web3

    @classmethod
    def connect(cls, node, deployed) -> Chain:
        return cls(node=node, suite={d.name: d.address for d in deployed}, w3=build_web3(node.url))

    # ------------------------------------------------------------------ accounts

    @property
    def operator(self) -> str:
        return get_signer().address

    def account(self, index: int) -> str:
        """anvil dev account `index` (1..9 are unlocked and hold no role)."""
        return to_checksum_address(self.w3.eth.accounts[index])

    # ------------------------------------------------------------------ contracts

    def contract(
        self, name: str, address: str | None = None, *, artifact: str | None = None
    ) -> BoundContract:
        return bound(name, address=address or self.suite[name], artifact=artifact, w3=self.w3)

    def campaign(self, address: str) -> BoundContract:
        return bound("Campaign", address=address, artifact="Campaign", w3=self.w3)

    # ------------------------------------------------------------------ writes

    def send(self, contract: BoundContract, function: str, *args: Any, sender: str | None = None) -> dict:
        """Send `function(args)` from an unlocked account; the mined receipt (must succeed)."""
        tx_hash = self.w3.eth.send_transaction(
            {
                "from": sender or self.operator,
                "to": contract.address,
                "data": contract.encode(function, *args),
            }
        )
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
        if receipt["status"] != 1:
            raise TxFailed(f"{contract.name}.{function} failed in block {receipt['blockNumber']}")
        return receipt

    def send_failing(
        self,
        contract: BoundContract,
        function: str,
        *args: Any,
        sender: str | None = None,
        gas: int = 2_000_000,
    ) -> tuple[dict, DecodedError]:
        """Mine `function(args)` with a fixed gas limit (no pre-flight estimate), require status 0,
        and name its revert by replaying the call on the parent block's state."""
        sender = sender or self.operator
        tx_hash = self.w3.eth.send_transaction(
            {"from": sender, "to": contract.address, "data": contract.encode(function, *args), "gas": gas}
        )
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
        assert receipt["status"] == 0, f"{contract.name}.{function} unexpectedly succeeded"
        try:
            contract.call(function, *args, block=receipt["blockNumber"] - 1, sender=sender)
        except ContractRevert as exc:
            return receipt, exc.error
        raise AssertionError(f"{contract.name}.{function}: mined failure but the replay did not revert")

    def revert_of(
        self, contract: BoundContract, function: str, *args: Any, sender: str | None = None
    ) -> DecodedError:
        """The named custom error `function(args)` reverts with when sent by `sender` (default operator)."""
        try:
            contract.estimate(function, *args, sender=sender or self.operator)
        except ContractRevert as exc:
            return exc.error
        raise AssertionError(f"{contract.name}.{function}{args!r} did not revert")

    # ------------------------------------------------------------------ events

    def events(self, receipt: dict, contract: BoundContract) -> list[tuple[str, dict]]:
        """(name, args) of every log `contract` emitted in `receipt`, in log order, decoded with
        ContractInterface.events_by_name[...].decode."""
        iface = contract.interface
        by_topic = {spec.topic0: name for name, spec in iface.events_by_name.items()}
        out = []
        for log in receipt["logs"]:
            if to_checksum_address(log["address"]) != contract.address or not log["topics"]:
                continue
            name = by_topic[bytes(log["topics"][0])]
            args = iface.events_by_name[name].decode([bytes(t) for t in log["topics"]], bytes(log["data"]))
            out.append((name, args))
        return out

    def event(self, receipt: dict, contract: BoundContract, name: str) -> dict:
        """The args of the only `name` event `contract` emitted in `receipt`."""
        found = [args for event_name, args in self.events(receipt, contract) if event_name == name]
        assert len(found) == 1, f"expected one {name} from {contract.name}, got {len(found)}"
        return found[0]

    # ------------------------------------------------------------------ time

    def now(self) -> int:
        """Timestamp of the latest block."""
        return self.w3.eth.get_block("latest")["timestamp"]

    def block_time(self, receipt: dict) -> int:
        return self.w3.eth.get_block(receipt["blockNumber"])["timestamp"]

    def increase_time(self, seconds: int) -> None:
        self.node.rpc("evm_increaseTime", seconds)
        self.node.mine(1)

    def set_next_timestamp(self, timestamp: int) -> None:
        self.node.rpc("evm_setNextBlockTimestamp", timestamp)

    def set_code(self, address: str, code: bytes) -> None:
        self.node.rpc("anvil_setCode", address, hx(code))


# Runtime code that answers any call with IERC721Receiver.onERC721Received's selector (an accepting
# receiver): PUSH4 0x150b7a02, PUSH1 0xe0, SHL, PUSH1 0, MSTORE, PUSH1 0x20, PUSH1 0, RETURN.
ACCEPTING_RECEIVER_CODE = bytes.fromhex("63150b7a0260e01b60005260206000f3")
# The same shape returning a wrong 4-byte value (0xdeadbeef): a receiver that does not accept.
WRONG_RECEIVER_CODE = bytes.fromhex("63deadbeef60e01b60005260206000f3")
