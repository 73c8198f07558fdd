"""Contracts bound to an address: read calls and simulations whose reverts are named custom errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from web3 import Web3
from web3.exceptions import ContractLogicError

from blockchain.chain.abi import ContractInterface, DecodedError, interface
from blockchain.chain.client import get_web3
from blockchain.models import ContractDeployment
from core.api import NotConfigured


class ContractRevert(Exception):
    """A call or simulation reverted; `error` names the custom error and its arguments."""

    def __init__(self, contract: str, function: str, error: DecodedError) -> None:
        super().__init__(f"{contract}.{function} reverted with {error}")
        self.contract = contract
        self.function = function
        self.error = error


class NotDeployed(LookupError, NotConfigured):
    """No active deployment of a contract on this chain (an operator has not run deploy_contracts)."""

    code = "chain_not_configured"
    public_message = "The platform's contracts are not deployed on this chain."


def revert_data_of(exc: ContractLogicError) -> str | None:
    data = exc.data
    if isinstance(data, dict):  # some nodes nest it: {"data": "0x..."}
        data = data.get("data")
    return data if isinstance(data, str) and data.startswith("0x") else None


@dataclass(frozen=True)
class BoundContract:
    name: str
    address: str
    interface: ContractInterface
    w3: Web3

    def encode(self, function: str, *args: Any) -> bytes:
        return self.interface.encode_call(function, args)

    def call(self, function: str, *args: Any, block: int | str = "latest", sender: str | None = None) -> Any:
        """eth_call `function(args)`; a single return value is unwrapped."""
        tx: dict[str, Any] = {"to": self.address, "data": self.encode(function, *args)}
        if sender:
            tx["from"] = sender
        try:
            raw = self.w3.eth.call(tx, block)
        except ContractLogicError as exc:
            raise ContractRevert(
                self.name, function, self.interface.decode_error(revert_data_of(exc))
            ) from None
        values = self.interface.decode_output(function, bytes(raw))
        return values[0] if len(values) == 1 else values

    def estimate(self, function: str, *args: Any, sender: str) -> int:
        """Gas estimate (a simulation): raises ContractRevert with the decoded custom error."""
        try:
            return self.w3.eth.estimate_gas(
                {"from": sender, "to": self.address, "data": self.encode(function, *args)}
            )
        except ContractLogicError as exc:
            raise ContractRevert(
                self.name, function, self.interface.decode_error(revert_data_of(exc))
            ) from None


def deployment_of(name: str, *, chain_id: int | None = None) -> ContractDeployment:
    from django.conf import settings

    row = ContractDeployment.objects.active(chain_id or settings.CHAIN_ID).filter(name=name).first()
    if row is None:
        raise NotDeployed(
            f"{name} is not deployed on chain {chain_id or settings.CHAIN_ID}: run deploy_contracts"
        )
    return row


def bound(
    name: str, *, address: str | None = None, artifact: str | None = None, w3: Web3 | None = None
) -> BoundContract:
    """`name` at `address` (default: its active deployment). `artifact` names the ABI when it differs
    from `name` (e.g. every Campaign contract created by the factory uses the Campaign artifact)."""
    return BoundContract(
        name=name,
        address=Web3.to_checksum_address(address or deployment_of(name).address),
        interface=interface(artifact or name),
        w3=w3 or get_web3(),
    )


def call_many(
    calls: list[tuple[str, str, str, list]],
    *,
    w3: Web3 | None = None,
    block: int | None = None,
    chunk: int = 200,
) -> tuple[list[Any], int]:
    """Read views in bulk: eth_call every (artifact, address, function, args) in JSON-RPC batches,
    all at one block (default: the head now). Returns (decoded values in call order, block); a
    single return value is unwrapped. A refused call raises its RpcError."""
    from blockchain.chain.client import RpcError, rpc_batch, rpc_call

    w3 = w3 or get_web3()
    block = int(rpc_call(w3, "eth_blockNumber", []), 16) if block is None else block
    requests = [
        (
            "eth_call",
            [
                {"to": address, "data": "0x" + interface(artifact).encode_call(function, list(args)).hex()},
                hex(block),
            ],
        )
        for artifact, address, function, args in calls
    ]
    values: list[Any] = []
    for (artifact, _address, function, _args), raw in zip(
        calls, rpc_batch(w3, requests, chunk=chunk), strict=True
    ):
        if isinstance(raw, RpcError):
            raise raw
        decoded = interface(artifact).decode_output(function, bytes.fromhex(raw.removeprefix("0x")))
        values.append(decoded[0] if len(decoded) == 1 else decoded)
    return values, block
