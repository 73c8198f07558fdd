"""Indexer speed: 20,000 events across the contracts indexed from scratch into PostgreSQL, against
the naive way (web3 get_logs + process_log + one ORM save per event) in the same run."""

from __future__ import annotations

import statistics
import time

from django.conf import settings
from eth_account import Account
from eth_utils import keccak

from bench.common import BenchContext, Measurement
from blockchain.chain.abi import interface, load_artifact
from blockchain.chain.client import build_web3, get_web3, rpc_batch
from blockchain.chain.signer import get_signer
from blockchain.indexing.indexer import Indexer
from blockchain.models import ChainEvent, ChainSyncState, IndexedBlock, WatchedContract
from contracts.deployment import deploy_suite_onchain, record_suite

TITLE = "Indexer: 20,000 events from scratch"
RUNS = 3
CERT_BATCHES, CERTS_PER_BATCH = 66, 100  # 3 events per certificate: 19,800
LOANS = 200  # one block each under automine: few, or the chain takes minutes to fill
BORROWER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def _emit_events(addresses: dict[str, str]) -> None:
    """Signed locally, sent in JSON-RPC batches: the chain fills fast."""
    w3 = get_web3()
    signer: Account = get_signer()
    nonce = w3.eth.get_transaction_count(signer.address, "pending")
    base = {"chainId": w3.eth.chain_id, "maxFeePerGas": 50 * 10**9, "maxPriorityFeePerGas": 10**9, "value": 0}
    raws = []
    certs = interface("ShareCertificate")
    for b in range(CERT_BATCHES):
        refs = [keccak(text=f"bench-cert-{b}-{i}") for i in range(CERTS_PER_BATCH)]
        data = certs.encode_call(
            "mintBatch",
            [refs, [BORROWER] * CERTS_PER_BATCH, BORROWER, [1] * CERTS_PER_BATCH, [""] * CERTS_PER_BATCH],
        )
        raws.append({"to": addresses["ShareCertificate"], "data": data, "gas": 15_000_000})
    loans = interface("LoanRegistry")
    for i in range(LOANS):
        loan_id = f"BENCH-{i}"
        data = loans.encode_call("storeLoan", [loan_id, keccak(text=loan_id), BORROWER, BORROWER])
        raws.append({"to": addresses["LoanRegistry"], "data": data, "gas": 200_000})
    signed = []
    for offset, tx in enumerate(raws):
        signed.append(signer.sign_transaction({**base, **tx, "nonce": nonce + offset}).raw_transaction)
    # A large block gas limit while the chain fills: anvil's automine otherwise leaves a transaction
    # that did not fit pending until some later transaction arrives (the last one never mines).
    w3.provider.make_request("evm_setBlockGasLimit", [hex(1_000_000_000)])
    last = None
    for start in range(0, len(signed), 20):  # mintBatch transactions are ~20 KB each
        chunk = signed[start : start + 20]
        results = rpc_batch(w3, [("eth_sendRawTransaction", ["0x" + bytes(r).hex()]) for r in chunk])
        refused = [r for r in results if not isinstance(r, str)]
        if refused:
            raise RuntimeError(f"the node refused {len(refused)} bench transactions: {refused[0]}")
        last = results[-1]
    receipt = w3.eth.wait_for_transaction_receipt(last, timeout=300)
    assert receipt["status"] == 1
    w3.provider.make_request("evm_setBlockGasLimit", [hex(30_000_000)])


def _reset_cache() -> None:
    ChainEvent.objects.all().delete()
    IndexedBlock.objects.all().delete()
    WatchedContract.objects.filter(deployment__isnull=True).delete()
    WatchedContract.objects.update(next_block=None)
    ChainSyncState.objects.all().delete()
    # "From scratch" means an empty table for ours and the naive alike: without this, each run also
    # inserts past the previous run's 20,000 dead index entries (autovacuum is not due seconds later).
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE blockchain_chainevent, blockchain_indexedblock")


def _ours() -> tuple[float, int]:
    _reset_cache()
    started = time.perf_counter()
    report = Indexer().run()
    elapsed = time.perf_counter() - started
    return report.events / elapsed, report.events


def _naive() -> tuple[float, int]:
    """What a hand-rolled indexer does: per contract get_logs, web3's process_log, one save each."""
    _reset_cache()
    w3 = get_web3()
    head = w3.eth.block_number
    started = time.perf_counter()
    count = 0
    for watched in WatchedContract.objects.filter(active=True, chain_id=settings.CHAIN_ID):
        contract = w3.eth.contract(address=watched.address, abi=load_artifact(watched.artifact).abi)
        by_topic = {
            "0x" + keccak(text=f"{e['name']}({','.join(i['type'] for i in e['inputs'])})").hex(): e["name"]
            for e in contract.abi
            if e["type"] == "event"
        }
        logs = w3.eth.get_logs(
            {"address": watched.address, "fromBlock": watched.start_block, "toBlock": head}
        )
        for log in logs:
            name = by_topic.get(log["topics"][0].to_0x_hex())
            if name is None:
                continue
            decoded = contract.events[name]().process_log(log)
            ChainEvent.objects.create(
                chain_id=settings.CHAIN_ID,
                contract_address=watched.address,
                artifact=watched.artifact,
                event_name=name,
                args={k: (v.hex() if isinstance(v, bytes) else v) for k, v in decoded["args"].items()},
                block_number=decoded["blockNumber"],
                block_hash=decoded["blockHash"].to_0x_hex(),
                tx_hash=decoded["transactionHash"].to_0x_hex(),
                log_index=decoded["logIndex"],
            )
            count += 1
    elapsed = time.perf_counter() - started
    return count / elapsed, count


def run(ctx: BenchContext) -> list[Measurement]:
    w3 = build_web3(ctx.node.url)
    deployed = deploy_suite_onchain(w3=w3, signer=get_signer())
    record_suite(chain_id=settings.CHAIN_ID, deployed=deployed)
    get_web3.cache_clear()
    _emit_events({d.name: d.address for d in deployed})
    ours = [_ours() for _ in range(RUNS)]
    phases = _phases()
    naive = _naive()
    ours_rate = statistics.median(r[0] for r in ours)
    rebuilds = [_rebuild() for _ in range(2)]
    return [
        Measurement(
            what=f"indexer: events/s from scratch ({ours[0][1]:,} events)",
            unit="events/s",
            ours=round(ours_rate),
            naive=round(naive[0]),
            target="≥ 25,000/s and ≥ 20× naive",
            target_value=25_000,
            target_ratio=20,
            samples={"ours": [round(r[0]) for r in ours], "naive": [round(naive[0])]},
            extra={"events": ours[0][1], "naive_events": naive[1], "load_average": _load_average()},
        ),
        Measurement(
            what="indexer: where one run's time goes (seconds; fetch, decode, store, project, webhooks)",
            unit="s",
            ours=phases["total"],
            higher_is_better=False,
            headline=True,
            extra=phases,
        ),
        Measurement(
            what="indexer: webhook announcers' share of one run (no endpoint listens)",
            unit="s",
            ours=phases["projections: webhook announcers (refresh)"],
            higher_is_better=False,
            target="≤ 1% of the run",
            target_value=round(phases["total"] * 0.01, 4),
            extra={"calls": phases["announcer_calls"]},
        ),
        Measurement(
            what=f"rebuild_from_chain: seconds to drop the cache and replay ({rebuilds[0][1]:,} events)",
            unit="s",
            ours=round(statistics.median(r[0] for r in rebuilds), 2),
            higher_is_better=False,
            samples={"ours": [round(r[0], 2) for r in rebuilds]},
        ),
    ]


def _load_average() -> list[float]:
    import os

    return [round(x, 2) for x in os.getloadavg()]


def _phases() -> dict:
    """One more run from scratch with inclusive timers on its steps (bench/_profile.py's wrapper).

    The top-level steps do not overlap; "of which" steps are parts of one of them. A range with
    nothing stored yet (this bench's) is decoded and copied in one streamed step, the others go
    through decode, then COPY + INSERT … ON CONFLICT, then the vanished-event check."""
    from bench import _profile
    from blockchain.indexing import events, indexer
    from webhooks.announcers import Announcer

    _reset_cache()
    _profile._reset()
    steps = {
        "fetch: eth_getLogs + JSON": (indexer.Indexer, "_get_logs"),
        "decode: eth_abi": (indexer, "decode_logs"),
        "block times": (indexer, "with_block_times"),
        "store: COPY + INSERT … ON CONFLICT": (indexer, "store_events"),
        "new-range check (one index probe)": (indexer, "range_is_new"),
        "decode + COPY streamed (a new range)": (indexer, "store_new_range"),
        "projections (domain rows)": (indexer, "project_touched"),
        "vanished-event check": (indexer.Indexer, "_drop_vanished"),
        "reorg window check": (indexer.Indexer, "check_reorg"),
    }
    parts = {
        "of which decode (streamed)": (events, "decode_logs"),
        "of which COPY text (streamed)": (events, "copy_text"),
        "projections: webhook announcers (refresh)": (Announcer, "refresh"),
    }
    undo = [_profile._timed(owner, name, label) for label, (owner, name) in {**steps, **parts}.items()]
    try:
        started = time.perf_counter()
        report = indexer.Indexer().run()
        total = time.perf_counter() - started
    finally:
        for step in reversed(undo):
            step()
    phases = {label: round(_profile._inclusive.get(label, 0.0), 4) for label in {**steps, **parts}}
    phases["announcer_calls"] = _profile._counts.get("projections: webhook announcers (refresh)", 0)
    accounted = sum(phases[label] for label in steps)
    phases["other (transaction, cursors, block hashes, metrics)"] = round(total - accounted, 4)
    phases["total"] = round(total, 4)
    phases["events"] = report.events
    phases["ranges"] = report.ranges
    print("[bench]     indexer phases: " + ", ".join(f"{k} {v}" for k, v in phases.items()), flush=True)
    return phases


def _rebuild() -> tuple[float, int]:
    """`manage.py rebuild_from_chain` as an operator runs it (domain hooks, delete, full replay)."""
    import io

    from django.core.management import call_command

    started = time.perf_counter()
    call_command("rebuild_from_chain", "--no-progress", stdout=io.StringIO(), stderr=io.StringIO())
    elapsed = time.perf_counter() - started
    return elapsed, ChainEvent.objects.filter(removed=False).count()
