"""Whether a wallet signed a text message (EIP-191 personal_sign): the key of an EOA, or a contract
wallet that says so through EIP-1271 `isValidSignature`.

An EIP-7702-delegated EOA still signs with its key, so the key is tried first; only when it is not
the wallet's does the chain get asked (one eth_call). A transport failure is raised to the caller
(the node could not answer, which says nothing about the signature).
"""

from __future__ import annotations

from eth_account import Account
from eth_account.messages import defunct_hash_message, encode_defunct
from eth_keys.exceptions import BadSignature
from web3 import Web3
from web3.exceptions import BadFunctionCallOutput, ContractLogicError, Web3RPCError

from blockchain.chain.client import get_web3

ERC1271_MAGIC_VALUE = bytes.fromhex("1626ba7e")  # bytes4(keccak256("isValidSignature(bytes32,bytes)"))
# A contract wallet's check is a view call; the cap keeps a hostile contract from burning the node's
# whole eth_call budget (multisig and passkey checks need far less).
ERC1271_GAS_LIMIT = 2_000_000
ERC1271_ABI = [
    {
        "type": "function",
        "name": "isValidSignature",
        "stateMutability": "view",
        "inputs": [{"name": "hash", "type": "bytes32"}, {"name": "signature", "type": "bytes"}],
        "outputs": [{"name": "magicValue", "type": "bytes4"}],
    }
]


def recovered_signer(message: str, signature: bytes) -> str | None:
    """The address whose key made this EIP-191 signature of `message`, or None if it is not one."""
    if len(signature) != 65:
        return None
    try:
        return Account.recover_message(encode_defunct(text=message), signature=signature)
    except (ValueError, BadSignature):
        return None


def erc1271_accepts(*, address: str, message: str, signature: bytes, w3: Web3 | None = None) -> bool:
    """Whether the contract at `address` answers EIP-1271's magic value for this message's EIP-191
    hash and `signature` (at the latest block). An account without code, a revert, an error of the
    node's EVM or any other answer is a no."""
    contract = (w3 or get_web3()).eth.contract(address=address, abi=ERC1271_ABI)
    try:
        answer = contract.functions.isValidSignature(defunct_hash_message(text=message), signature).call(
            {"gas": ERC1271_GAS_LIMIT}, block_identifier="latest"
        )
    except (BadFunctionCallOutput, ContractLogicError, Web3RPCError):
        return False
    return bytes(answer) == ERC1271_MAGIC_VALUE


def signed_by(*, address: str, message: str, signature: bytes, w3: Web3 | None = None) -> bool:
    """Whether the wallet at `address` (EIP-55) signed `message`: its key, else EIP-1271."""
    if recovered_signer(message, signature) == address:
        return True
    return erc1271_accepts(address=address, message=message, signature=signature, w3=w3)
