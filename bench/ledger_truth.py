"""Reorg repair and reconcile at scale: a depth-10 reorg that orphans the anchoring of 1,000 loans,
repaired by one indexer run (detect, rewind, project 1,000 loans, index again); and `reconcile`
reading 10,000 loans from the contract's own `getLoan`, in JSON-RPC batches at one block."""

from __future__ import annotations

import statistics
import time

from django.conf import settings
from django.utils import timezone
from eth_utils import keccak

from bench.common import BenchContext, Measurement
from blockchain.chain.abi import interface
from blockchain.chain.client import build_web3, get_web3, rpc_batch
from blockchain.chain.signer import get_signer
from blockchain.indexing.indexer import Indexer
from blockchain.indexing.reconcile import run_reconcile
from contracts.deployment import deploy_suite_onchain, record_suite
from loans.models import Loan, LoanStatus

TITLE = "Ledger truth: reorg repair and reconcile at scale"
REORG_ENTITIES, REORG_DEPTH = 1_000, 10
RECONCILE_ENTITIES = 10_000
BORROWER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
LENDER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"


def _loans(prefix: str, count: int) -> list[str]:
    """Loan rows in `anchoring` (as after approval), created in bulk: the platform's side."""
    ids = [f"{prefix}-{i}" for i in range(count)]
    now = timezone.now()
    Loan.objects.bulk_create(
        [
            Loan(
                loan_id=loan_id,
                borrower_wallet=BORROWER,
                lender_wallet=LENDER,
                principal="1000.00",
                currency="USD",
                interest_rate_bps=500,
                term_months=12,
                status=LoanStatus.ANCHORING,
                loan_hash="0x" + keccak(text=loan_id).hex(),
                approved_at=now,
            )
            for loan_id in ids
        ],
        batch_size=2000,
    )
    return ids


def _anchor(loan_ids: list[str], *, blocks: int) -> None:
    """storeLoan for every id, signed locally, spread over `blocks` mined blocks."""
    w3 = get_web3()
    signer = get_signer()
    registry = interface("LoanRegistry")
    from blockchain.chain.bindings import deployment_of

    address = deployment_of("LoanRegistry").address
    nonce = w3.eth.get_transaction_count(signer.address, "pending")
    base = {"chainId": w3.eth.chain_id, "maxFeePerGas": 50 * 10**9, "maxPriorityFeePerGas": 10**9, "value": 0}
    w3.provider.make_request("evm_setAutomine", [False])
    per_block = -(-len(loan_ids) // blocks)
    try:
        for start in range(0, len(loan_ids), per_block):
            raws = []
            for offset, loan_id in enumerate(loan_ids[start : start + per_block]):
                data = registry.encode_call("storeLoan", [loan_id, keccak(text=loan_id), BORROWER, LENDER])
                tx = {**base, "to": address, "data": data, "gas": 200_000, "nonce": nonce + start + offset}
                raws.append("0x" + bytes(signer.sign_transaction(tx).raw_transaction).hex())
            for part in range(0, len(raws), 200):
                results = rpc_batch(w3, [("eth_sendRawTransaction", [r]) for r in raws[part : part + 200]])
                refused = [r for r in results if not isinstance(r, str)]
                if refused:
                    raise RuntimeError(f"the node refused {len(refused)} bench transactions: {refused[0]}")
            w3.provider.make_request("anvil_mine", [1])
    finally:
        w3.provider.make_request("evm_setAutomine", [True])


def _reorg_repair() -> float:
    ids = _loans(f"REORG-{time.time_ns()}", REORG_ENTITIES)
    _anchor(ids, blocks=REORG_DEPTH)
    Indexer().run()
    assert Loan.objects.filter(loan_id__in=ids, status=LoanStatus.ANCHORED).count() == len(ids)
    w3 = get_web3()
    w3.provider.make_request("anvil_rollback", [REORG_DEPTH])  # every anchoring block is gone
    w3.provider.make_request("anvil_mine", [REORG_DEPTH + 1])
    started = time.perf_counter()
    report = Indexer().run()
    elapsed = time.perf_counter() - started
    assert report.reorg_fork is not None
    assert not Loan.objects.filter(loan_id__in=ids, status=LoanStatus.ANCHORED).exists()
    return elapsed


def run(ctx: BenchContext) -> list[Measurement]:
    w3 = build_web3(ctx.node.url)
    deployed = deploy_suite_onchain(w3=w3, signer=get_signer())
    record_suite(chain_id=settings.CHAIN_ID, deployed=deployed)
    get_web3.cache_clear()
    Indexer().run()
    repairs = [_reorg_repair() for _ in range(3)]

    ids = _loans("RECONCILE", RECONCILE_ENTITIES)
    _anchor(ids, blocks=50)
    Indexer().run()
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        report = run_reconcile(only=("loans",))
        timings.append(time.perf_counter() - started)
        assert report.drift_count == 0 and report.checked == RECONCILE_ENTITIES, report.drift[:3]
    return [
        Measurement(
            what=f"reorg repair: depth-{REORG_DEPTH} reorg orphaning {REORG_ENTITIES:,} loans, one run",
            unit="s",
            ours=round(statistics.median(repairs), 2),
            higher_is_better=False,
            target="≤ 5 s (one poll)",
            target_value=5,
            samples={"ours": [round(r, 3) for r in repairs]},
        ),
        Measurement(
            what=f"reconcile: {RECONCILE_ENTITIES:,} loans against getLoan (batched, one block)",
            unit="s",
            ours=round(statistics.median(timings), 2),
            higher_is_better=False,
            target="≤ 30 s",
            target_value=30,
            samples={"ours": [round(t, 3) for t in timings]},
        ),
    ]
