"""The scale bench's chain side: many transactions signed locally and mined in large blocks, so the
bench's anvil fills with real events of the platform's own contracts in seconds."""

from __future__ import annotations

from collections.abc import Iterable

from eth_utils import keccak

from blockchain.chain.abi import interface
from blockchain.chain.client import get_web3, rpc_batch
from blockchain.chain.signer import get_signer

HOLDER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
FEES = {"maxFeePerGas": 50 * 10**9, "maxPriorityFeePerGas": 10**9, "value": 0}


def send_mined(
    txs: Iterable[dict], *, per_block: int, send_chunk: int = 100, keep_raw: dict | None = None
) -> list[str]:
    """Sign every {to, data, gas} at consecutive nonces, send them in JSON-RPC batches with automine
    off, and mine `per_block` of them per block. Returns the transaction hashes, in order;
    `keep_raw` gets {hash: (nonce, signed bytes)}."""
    w3 = get_web3()
    signer = get_signer()
    chain_id = w3.eth.chain_id
    nonce = w3.eth.get_transaction_count(signer.address, "pending")
    hashes: list[str] = []
    w3.provider.make_request("evm_setAutomine", [False])
    w3.provider.make_request("evm_setBlockGasLimit", [hex(2_000_000_000)])
    try:
        block: list[str] = []

        def flush() -> None:
            for start in range(0, len(block), send_chunk):
                results = rpc_batch(
                    w3, [("eth_sendRawTransaction", [raw]) for raw in block[start : start + send_chunk]]
                )
                refused = [r for r in results if not isinstance(r, str)]
                if refused:
                    raise RuntimeError(f"the node refused {len(refused)} bench transactions: {refused[0]}")
                hashes.extend(results)
            w3.provider.make_request("anvil_mine", [1])
            block.clear()

        for tx in txs:
            signed = signer.sign_transaction({**FEES, **tx, "chainId": chain_id, "nonce": nonce})
            if keep_raw is not None:
                keep_raw["0x" + bytes(signed.hash).hex()] = (nonce, bytes(signed.raw_transaction))
            nonce += 1
            block.append("0x" + bytes(signed.raw_transaction).hex())
            if len(block) >= per_block:
                flush()
        if block:
            flush()
    finally:
        w3.provider.make_request("evm_setAutomine", [True])
        w3.provider.make_request("evm_setBlockGasLimit", [hex(30_000_000)])
    failed = [
        h
        for h, receipt in zip(
            hashes[-50:],
            rpc_batch(w3, [("eth_getTransactionReceipt", [h]) for h in hashes[-50:]]),
            strict=True,
        )
        if not isinstance(receipt, dict) or receipt.get("status") != "0x1"
    ]
    if failed:
        raise RuntimeError(f"bench transactions failed or did not mine: {failed[:3]}")
    return hashes


def certificate_mints(
    *, addresses: dict[str, str], events: int, tag: str, per_tx: int = 100
) -> Iterable[dict]:
    """mintBatch transactions of `per_tx` certificates each (3 events per certificate: Transfer,
    CertificateMinted and the ERC-4906 metadata update), about `events` events in all."""
    certs = interface("ShareCertificate")
    campaign = addresses.get("campaign") or HOLDER
    per_event = 3
    txs = -(-events // (per_tx * per_event))
    for b in range(txs):
        refs = [keccak(text=f"scale-cert-{tag}-{b}-{i}") for i in range(per_tx)]
        data = certs.encode_call(
            "mintBatch", [refs, [HOLDER] * per_tx, campaign, [1] * per_tx, [""] * per_tx]
        )
        yield {"to": addresses["ShareCertificate"], "data": data, "gas": 135_000 * per_tx + 300_000}
