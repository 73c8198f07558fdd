"""The naive sender the outbox bench compares against (imported by its workers with --include).

What a hand-rolled integration does: each task reads the nonce with
eth_getTransactionCount(pending), signs, sends, and hopes no other task read the same nonce.
"""

from __future__ import annotations

from celery import shared_task
from eth_utils import keccak

from blockchain.chain.abi import interface
from blockchain.chain.client import get_web3
from blockchain.chain.fees import suggest_fees
from blockchain.chain.signer import get_signer
from core.redis import get_redis

BORROWER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
LENDER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"


@shared_task(name="bench.naive_send", ignore_result=True)
def naive_send(loan_id: str, registry: str) -> None:
    w3 = get_web3()
    signer = get_signer()
    redis = get_redis()
    try:
        nonce = w3.eth.get_transaction_count(signer.address, "pending")
        tx = {
            "type": 2,
            "chainId": w3.eth.chain_id,
            "nonce": nonce,
            "to": registry,
            "value": 0,
            "data": interface("LoanRegistry").encode_call(
                "storeLoan", [loan_id, keccak(text=loan_id), BORROWER, LENDER]
            ),
            "gas": 200_000,
            **suggest_fees(w3).as_tx_fields(),
        }
        w3.eth.send_raw_transaction(signer.sign_transaction(tx).raw_transaction)
        redis.incr("bench:naive:sent")
    except Exception as exc:
        kind = str(exc).lower()
        label = next(
            (k for k in ("nonce too low", "already imported", "already known", "underpriced") if k in kind),
            type(exc).__name__,
        )
        redis.incr(f"bench:naive:error:{label}")
    finally:
        redis.incr("bench:naive:done")
