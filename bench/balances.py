"""Balance reads from the cache against reads from the chain, in one run.

Method: a fresh suite and a DemoToken (configured as the tracked ERC-20) on the bench's anvil; RUNS
holders each get a token balance. Cached: `get_balance(holder, "DUSD")` after one warm-up read
(Redis in front of the row). Chain: `get_balance(holder, "DUSD", verify_critical=True)`, which reads
balanceOf at the head over HTTP and refreshes the cache. p50 and p95 of each, in process.
"""

from __future__ import annotations

import statistics
import time

from django.conf import settings
from eth_account import Account

from bench.common import BenchContext, Measurement, reset_chain_tables
from blockchain.chain.abi import interface, load_artifact
from blockchain.chain.client import build_web3, get_web3
from blockchain.chain.signer import get_signer
from contracts.deployment import deploy_contract, deploy_suite_onchain, record_suite

TITLE = "Balance reads: cache vs chain"
RUNS = 300


def _timed(read, holders) -> list[float]:
    samples = []
    for holder in holders:
        started = time.perf_counter()
        read(holder)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def run(ctx: BenchContext) -> list[Measurement]:
    from wallets.balances import clear_hot_cache, get_balance

    w3 = build_web3(ctx.node.url)
    signer = get_signer()
    record_suite(chain_id=settings.CHAIN_ID, deployed=deploy_suite_onchain(w3=w3, signer=signer))
    token = deploy_contract(
        w3=w3,
        signer=signer,
        artifact=load_artifact("DemoToken"),
        args=["Demo Dollar", "DUSD", 6, signer.address, signer.address],
    )
    settings.CHAIN_TOKENS = {"DUSD": {"address": token.address, "decimals": 6}}
    get_web3.cache_clear()
    reset_chain_tables()
    clear_hot_cache()
    holders = [Account.create().address for _ in range(RUNS)]
    nonce = w3.eth.get_transaction_count(signer.address, "pending")
    mint = interface("DemoToken")
    base = {
        "chainId": w3.eth.chain_id,
        "maxFeePerGas": 50 * 10**9,
        "maxPriorityFeePerGas": 10**9,
        "gas": 100_000,
    }
    last = None
    for i, holder in enumerate(holders):
        tx = {
            **base,
            "to": token.address,
            "data": mint.encode_call("mint", [holder, 1_000_000 + i]),
            "nonce": nonce + i,
        }
        last = w3.eth.send_raw_transaction(signer.sign_transaction(tx).raw_transaction)
    w3.eth.wait_for_transaction_receipt(last, timeout=120)

    for holder in holders:
        get_balance(holder, "DUSD")  # fill the cache
    cached = _timed(lambda h: get_balance(h, "DUSD"), holders)
    chain = _timed(lambda h: get_balance(h, "DUSD", verify_critical=True), holders)
    for holder, expected in ((holders[0], 1_000_000), (holders[-1], 1_000_000 + RUNS - 1)):
        if get_balance(holder, "DUSD").base_units != expected:
            raise RuntimeError("the cached balance is wrong")
    return [
        Measurement(
            what=f"balance read p50, cache vs chain ({RUNS} holders, get_balance)",
            unit="ms",
            ours=round(statistics.median(cached), 3),
            naive=round(statistics.median(chain), 3),
            higher_is_better=False,
            target="cache ≥ 20× faster, cached p50 < 2 ms",
            target_ratio=20,
            target_value=2,
            samples={"ours": [round(x, 3) for x in cached], "naive": [round(x, 3) for x in chain]},
            extra={
                "cached_p95_ms": round(statistics.quantiles(cached, n=20)[18], 3),
                "chain_p95_ms": round(statistics.quantiles(chain, n=20)[18], 3),
            },
        )
    ]
