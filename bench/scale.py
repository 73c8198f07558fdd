"""Scale rows (issue #25): the API reads, reconcile, rebuild_from_chain and the indexer's lag
recovery with 1,000,000 credentials, 100,000 investments and 200,000 chain events in the tables.

Method, in one module run on the bench's anvil and database:
1. api_reads' small data set (200 credentials issued through the services and the outbox, 20
   campaigns) plus 19 active campaigns (so that ?status=active is a 20-row page, as at scale) and
   its gunicorn (2 workers, 32 aiohttp clients): each read measured small.
2. The scale data (bench/_scale_seed.py): the real on-chain part (10 institutions, 10,000 single
   credentials, 10 batches) sent as locally signed transactions in large blocks, then everything
   written with COPY and INSERT … SELECT generate_series, then ANALYZE.
3. The same reads against the same gunicorn, ids spread over the whole table, and the ratio of each
   to its small figure (target: within 20%). EXPLAIN (ANALYZE, BUFFERS) of every statement those
   reads issue goes to bench/explain.md.
4. reconcile per 10,000 entities: the credentials check (10,000 single credentials against
   credentialStatus) and the batches check (10,000 leaves of the 10 anchored batches against
   batchOf/isLeafRevoked), with the 1,000,000-row table around them.
5. The indexer's lag recovery: 100,000 events minted on chain while it is not running, then runs
   until its cursor is at the head. Then `rebuild_from_chain` over every event on chain (200,000),
   with the credentials app's reset limited to the rows the chain knows (its whole-table UPDATE
   over 1,000,000 rows takes longer than this module may run: it is timed on a 50,000-row slice in
   a rolled-back transaction and scaled, in a row of their own).

`make bench` runs it with the others; alone: `python -m bench.run scale`. BENCH_SCALE_LOAD_SECONDS
and BENCH_SCALE_SINGLE_SECONDS set the load windows (6 s with 32 clients, 3 s with one).
"""

from __future__ import annotations

import io
import os
import random
import statistics
import time

from django.conf import settings

from bench import _scale_explain, _scale_seed
from bench import api_reads as reads
from bench._scale_chain import certificate_mints, send_mined
from bench.common import BenchContext, Measurement

TITLE = "Scale: 1,000,000 credentials, 100,000 investments, 200,000 chain events"
LOAD_SECONDS = float(os.environ.get("BENCH_SCALE_LOAD_SECONDS", "6"))
SINGLE_SECONDS = float(os.environ.get("BENCH_SCALE_SINGLE_SECONDS", "3"))
SAMPLE = 2_000  # ids / documents the scale reads go round
TOTAL_ONCHAIN_EVENTS = 200_000
BACKLOG_EVENTS = 100_000
WITHIN = 0.8  # the issue's "within 20%": ≥ 0.8× the small table's requests/s, p50 ≤ 1.25×


def run(ctx: BenchContext) -> list[Measurement]:
    from blockchain.models import ContractDeployment

    began = time.perf_counter()
    read_set = reads.setup_read_set(ctx)
    _more_active_campaigns()
    addresses = {d.name: d.address for d in ContractDeployment.objects.active(settings.CHAIN_ID)}
    small_plan = _small_plan(read_set)
    with reads.serving(ctx) as (base, proxy):
        reads._measure(base, "warm-up", "/api/campaigns/", proxy, seconds=2)
        small = _measure_plan(base, proxy, small_plan, read_set.token)
        started = time.perf_counter()
        facts = _scale_seed.build_chain(addresses)
        chain_seconds = time.perf_counter() - started
        info = _scale_seed.seed(facts, addresses)
        print(f"[bench]     seeded in {info.seconds['total']:.1f}s: {info.seconds}", flush=True)
        scale_plan = _scale_plan(info)
        for plan in scale_plan.values():  # warm the caches of both workers on the new tables
            reads._measure(base, "warm-up", plan["path"], proxy, seconds=1, **_options(plan, read_set.token))
        scale = _measure_plan(base, proxy, scale_plan, read_set.token)
    rows = _read_rows(small, scale, small_plan, scale_plan)
    rows.insert(0, _seed_row(info, chain_seconds))

    found = _scale_explain.capture(_explain_requests(scale_plan, read_set.token))
    _scale_explain.write(found, counts=info.counts)
    flagged = [f"{item['request']}: {', '.join(item['seq_scans'])}" for item in found if item["seq_scans"]]
    rows.append(
        Measurement(
            what="scale: hot read statements with a Seq Scan on a table of ≥ 50,000 rows (bench/explain.md)",
            unit="statements",
            ours=len(flagged),
            higher_is_better=False,
            target="0",
            target_value=0,
            extra={"statements": len(found), "flagged": flagged},
        )
    )
    rows += _reconcile_rows()
    rows += _indexer_rows(addresses, facts)
    print(f"[bench]     scale module: {time.perf_counter() - began:.0f}s", flush=True)
    return rows


# --- reads --------------------------------------------------------------------------------------


# api_reads' set lists one active campaign: its ?status=active page is one row, the seeded tables'
# a full 20. These make it 20 in both phases (one company each: a company has one campaign in
# progress), so the row compares the same page on a small and a large table.
SMALL_ACTIVE_CAMPAIGNS = 19


def _more_active_campaigns() -> None:
    owner = reads._public_campaign_owner()
    for n in range(SMALL_ACTIVE_CAMPAIGNS):
        reads.seed_public_campaigns(owner=owner, legal_name=f"Bench Active {n}", count=1)


def _small_plan(read_set) -> dict[str, dict]:
    from credentials.models import Credential

    ids = list(Credential.objects.order_by("pk").values_list("pk", flat=True))
    return _plan(ids, [{"document": d} for d in read_set.documents])


def _scale_plan(info) -> dict[str, dict]:
    from credentials.models import Credential

    rng = random.Random(25)
    low = Credential.objects.order_by("pk").values_list("pk", flat=True).first()
    high = Credential.objects.order_by("-pk").values_list("pk", flat=True).first()
    ids = sorted(rng.sample(range(low, high + 1), SAMPLE))  # uniform over the whole table
    step = max(1, len(info.singles) // SAMPLE)
    documents = [{"document": s["document"]} for s in info.singles[::step]][:SAMPLE]
    rng.shuffle(ids)
    rng.shuffle(documents)
    return _plan(ids, documents)


BASELINE = "GET /bench/baseline/"


def _plan(ids: list[int], bodies: list[dict]) -> dict[str, dict]:
    return {
        # The minimal Django view on the same stack: it reads no table, so its change between the two
        # phases is the machine's (other processes on this shared machine), not the tables'.
        BASELINE: {"path": reads.BASELINE_PATH},
        "GET /api/credentials/{id}/": {
            "path": f"/api/credentials/{ids[0]}/",
            "paths": [f"/api/credentials/{pk}/" for pk in ids],
            "auth": True,
            "ids": len(ids),
        },
        # A 20-row page both times (the small set has 39 campaigns, 20 of them active; the API's
        # default page is 50).
        "GET /api/campaigns/ (20-row page)": {"path": "/api/campaigns/?page_size=20"},
        "GET /api/campaigns/?status=active (20-row page)": {
            "path": "/api/campaigns/?status=active&page_size=20"
        },
        "POST /api/blockchain/verify/": {
            "path": "/api/blockchain/verify/",
            "method": "POST",
            "bodies": bodies,
            "documents": len(bodies),
        },
    }


def _options(plan: dict, token: str) -> dict:
    options = {}
    if plan.get("paths"):
        options["paths"] = plan["paths"]
    if plan.get("auth"):
        options["headers"] = {"Authorization": f"Bearer {token}"}
    if plan.get("method") == "POST":
        options.update(method="POST", bodies=plan["bodies"])
    return options


def _measure_plan(base: str, proxy, plan: dict[str, dict], token: str) -> dict[str, dict]:
    results = {}
    for name, item in plan.items():
        options = _options(item, token)
        loaded = reads._measure(base, name, item["path"], proxy, seconds=LOAD_SECONDS, **options)
        alone = reads._measure(base, name, item["path"], proxy, seconds=SINGLE_SECONDS, clients=1, **options)
        results[name] = {"load": loaded, "single": alone}
        print(
            f"[bench]     {name}: {loaded['rps']:.0f} req/s (p50 {loaded['p50']:.1f} ms), "
            f"1 client p50 {alone['p50']:.2f} ms",
            flush=True,
        )
    return results


def _read_rows(small, scale, small_plan, scale_plan) -> list[Measurement]:
    rows = []
    # How much the machine alone changed between the phases (the baseline view reads no table).
    drift_rps = scale[BASELINE]["load"]["rps"] / small[BASELINE]["load"]["rps"]
    drift_p50 = scale[BASELINE]["single"]["p50"] / small[BASELINE]["single"]["p50"]
    for name in scale_plan:
        if name == BASELINE:
            continue
        s, b = small[name], scale[name]
        adjusted = {
            "machine_drift_rps": round(drift_rps, 3),
            "load_adjusted_ratio": round(b["load"]["rps"] / s["load"]["rps"] / drift_rps, 3),
        }
        sample = {"small_sample": _sample_of(small_plan[name]), "scale_sample": _sample_of(scale_plan[name])}
        rows.append(
            Measurement(
                what=f"scale: {name} requests/s at 1M credentials, 32 clients (naive: 200 credentials)",
                unit="req/s",
                ours=round(b["load"]["rps"], 1),
                naive=round(s["load"]["rps"], 1),
                target="within 20% (≥ 0.8× the small table's)",
                target_ratio=WITHIN,
                headline=True,
                extra={
                    **sample,
                    **adjusted,
                    "p50_ms": round(b["load"]["p50"], 2),
                    "p99_ms": round(b["load"]["p99"], 2),
                    "small_p50_ms": round(s["load"]["p50"], 2),
                    "rpc_calls": b["load"]["rpc_calls"],
                },
            )
        )
        rows.append(
            Measurement(
                what=f"scale: {name} p50 latency at 1M credentials, 1 client (naive column: 200 credentials)",
                unit="ms",
                ours=round(b["single"]["p50"], 2),
                naive=round(s["single"]["p50"], 2),
                higher_is_better=False,
                target="within 20% (p50 ≤ 1.25× the small table's)",
                target_ratio=WITHIN,
                extra={
                    **sample,
                    "machine_drift_p50": round(drift_p50, 3),
                    "load_adjusted_ratio": round(s["single"]["p50"] / b["single"]["p50"] * drift_p50, 3),
                    "p99_ms": round(b["single"]["p99"], 2),
                    "small_p99_ms": round(s["single"]["p99"], 2),
                },
            )
        )
    return rows


def _sample_of(plan: dict) -> str:
    if "ids" in plan:
        return f"{plan['ids']} ids"
    if "documents" in plan:
        return f"{plan['documents']} documents"
    return plan["path"]


def _seed_row(info, chain_seconds: float) -> Measurement:
    return Measurement(
        what=(
            "scale: seeding 1,000,000 credentials, 100,000 investments, 200,000 chain events "
            "(COPY + INSERT … SELECT, ANALYZE)"
        ),
        unit="s",
        ours=info.seconds["total"],
        higher_is_better=False,
        target="well under 2 min",
        target_value=120,
        extra={"steps": info.seconds, "counts": info.counts, "chain_part_seconds": round(chain_seconds, 1)},
    )


def _explain_requests(plan: dict[str, dict], token: str) -> list[tuple]:
    auth = {"authorization": f"Bearer {token}"}
    requests = []
    for name, item in plan.items():
        if name == BASELINE:
            continue
        if item.get("method") == "POST":
            requests.append((name, f"POST {item['path']}", item["bodies"][0], {}))
        else:
            path = item["paths"][len(item["paths"]) // 2] if item.get("paths") else item["path"]
            requests.append((name, f"GET {path}", None, auth if item.get("auth") else {}))
    return requests


# --- reconcile ----------------------------------------------------------------------------------


class _Rollback(Exception):
    pass


def _reconcile_rows() -> list[Measurement]:
    from django.db import transaction

    from blockchain.indexing.reconcile import run_reconcile
    from credentials.models import BatchStatus, CredentialBatch

    timings, checked, drift = [], 0, 0
    for _ in range(2):
        started = time.perf_counter()
        report = run_reconcile(only=("credentials", "institutions"))
        timings.append(time.perf_counter() - started)
        checked, drift = report.checked, report.drift_count
    # The batches check reads every leaf of every anchored batch (one isLeafRevoked each); only the
    # batches anchored on chain for real are judged here, the others set aside in a transaction
    # that is rolled back: the 1,000,000-row table is still the one the check's query reads.
    real_roots = [b for b in CredentialBatch.objects.filter(status=BatchStatus.ANCHORED).order_by("pk")]
    on_chain = _on_chain_batches(real_roots)
    batch_timings, batch_checked, batch_drift = [], 0, 0
    for _ in range(2):
        try:
            with transaction.atomic():
                CredentialBatch.objects.exclude(pk__in=on_chain).update(status=BatchStatus.FAILED)
                started = time.perf_counter()
                report = run_reconcile(only=("batches",))
                batch_timings.append(time.perf_counter() - started)
                batch_checked, batch_drift = report.checked, report.drift_count
                raise _Rollback
        except _Rollback:
            pass
    return [
        _reconcile_row(
            what=f"credentials + institutions at 1M credentials: seconds per 10,000 ({checked:,} checked "
            "against credentialStatus / institutionOf)",
            timings=timings,
            checked=checked,
            drift=drift,
        ),
        _reconcile_row(
            what=f"batches at 1M credentials: seconds per 10,000 ({batch_checked:,} batches + leaves "
            "against batchOf / isLeafRevoked)",
            timings=batch_timings,
            checked=batch_checked,
            drift=batch_drift,
        ),
    ]


def _reconcile_row(*, what: str, timings: list[float], checked: int, drift: int) -> Measurement:
    seconds = statistics.median(timings)
    return Measurement(
        what=f"scale: reconcile {what}",
        unit="s",
        ours=round(seconds * 10_000 / max(checked, 1), 2),
        higher_is_better=False,
        target="≤ 30 s per 10,000 (ledger_truth's loans target)",
        target_value=30,
        samples={"seconds": [round(t, 2) for t in timings]},
        extra={
            "checked": checked,
            "drift": drift,
            "seconds": round(seconds, 2),
            "full_table_estimate_seconds": round(seconds * 1_000_000 / max(checked, 1), 1),
        },
    )


def _on_chain_batches(batches) -> list[int]:
    from blockchain.chain.abi import bytes32_from_hex
    from blockchain.chain.bindings import call_many, deployment_of

    vault = deployment_of("CredentialVault").address
    values, _ = call_many(
        [("CredentialVault", vault, "batchOf", [bytes32_from_hex(b.merkle_root)]) for b in batches]
    )
    return [b.pk for b, value in zip(batches, values, strict=True) if value[0]]


# --- the indexer: lag recovery and rebuild --------------------------------------------------------


def _indexer_rows(addresses: dict[str, str], facts) -> list[Measurement]:
    from django.core.management import call_command

    from blockchain.indexing.indexer import Indexer
    from blockchain.models import ChainEvent, ChainSyncState

    first, last = facts.history[0][0], facts.history[-1][0]
    on_chain = ChainEvent.objects.filter(removed=False).exclude(block_number__range=(first, last)).count()
    filler = max(0, TOTAL_ONCHAIN_EVENTS - BACKLOG_EVENTS - on_chain)
    started = time.perf_counter()
    send_mined(certificate_mints(addresses=addresses, events=filler, tag="fill"), per_block=20)
    fill_seconds = time.perf_counter() - started
    fill_report = Indexer().run()  # the indexer is at the head again before the backlog builds up
    started = time.perf_counter()
    send_mined(certificate_mints(addresses=addresses, events=BACKLOG_EVENTS, tag="backlog"), per_block=20)
    backlog_seconds = time.perf_counter() - started
    head = Indexer().w3.eth.block_number
    state = ChainSyncState.objects.get(chain_id=settings.CHAIN_ID)
    lag_blocks = head - (state.indexed_block or 0)
    started = time.perf_counter()
    events = runs = 0
    while True:
        report = Indexer().run()
        events += report.events
        runs += 1
        state.refresh_from_db()
        if (state.indexed_block or 0) >= head or runs > 50:
            break
    lag_seconds = time.perf_counter() - started
    print(
        f"[bench]     chain: filler {filler:,} events minted in {fill_seconds:.1f}s (indexed in "
        f"{fill_report.seconds:.1f}s), backlog minted in {backlog_seconds:.1f}s, caught up in "
        f"{lag_seconds:.1f}s",
        flush=True,
    )

    total_on_chain = on_chain + fill_report.events + events
    # api_reads' fixture gives one company 20 campaigns that claim chain facts (19 successful) the
    # chain never saw; a rebuild would log each as "not on this chain" and keep it. They are not part
    # of what is measured here.
    from campaigns.models import Campaign

    Campaign.objects.filter(title__startswith="Public ", investments__isnull=True).delete()
    reset = _credential_reset_estimate()
    started = time.perf_counter()
    with _credentials_reset_of_chain_rows_only() as hooks:
        call_command("rebuild_from_chain", "--no-progress", stdout=io.StringIO(), stderr=io.StringIO())
    rebuild_seconds = time.perf_counter() - started
    replayed = ChainEvent.objects.filter(removed=False).count()
    anchored_again = _credentials_anchored()
    return [
        Measurement(
            what=(
                f"scale: indexer lag recovery, {events:,}-event backlog ({lag_blocks} blocks) at 1M "
                "credentials: events/s until the cursor is at the head"
            ),
            unit="events/s",
            ours=round(events / lag_seconds),
            headline=True,
            extra={
                "seconds": round(lag_seconds, 2),
                "runs": runs,
                "events": events,
                "lag_blocks": lag_blocks,
            },
        ),
        Measurement(
            what=(
                f"scale: rebuild_from_chain replaying {replayed:,} on-chain events with 1M credentials and "
                "100k investments in the tables: seconds per 10,000 events (the credentials reset of the "
                "990,000 rows only the database knows is the next row)"
            ),
            unit="s",
            ours=round(rebuild_seconds * 10_000 / max(replayed, 1), 2),
            higher_is_better=False,
            headline=True,
            extra={
                "seconds": round(rebuild_seconds, 1),
                "events_replayed": replayed,
                "events_on_chain_estimate": total_on_chain,
                "credentials_anchored_again": anchored_again,
                "reset_hooks_seconds": hooks.seconds,
                "delete_and_replay_seconds": round(rebuild_seconds - sum(hooks.seconds.values()), 1),
            },
        ),
        Measurement(
            what=(
                "scale: rebuild_from_chain's credentials reset (one whole-table UPDATE) at 1M credentials, "
                f"estimated from a {reset['slice']:,}-row slice (rolled back)"
            ),
            unit="s",
            ours=reset["estimate_seconds"],
            higher_is_better=False,
            headline=True,
            extra=reset,
        ),
    ]


def _credential_reset_estimate(slice_rows: int = 50_000) -> dict:
    """The credentials rebuild hook's statements on `slice_rows` rows in the middle of the table,
    rolled back; scaled to the whole table."""
    from django.db import transaction

    from credentials.models import Credential
    from credentials.onchain.projection import clear_chain_facts

    total = Credential.objects.count()
    low = Credential.objects.order_by("pk").values_list("pk", flat=True)[total // 2]
    rows = Credential.objects.filter(pk__gte=low, pk__lt=low + slice_rows)
    seconds = 0.0
    try:
        with transaction.atomic():
            started = time.perf_counter()
            clear_chain_facts(rows)  # the rebuild hook's own statement, on the slice
            seconds = time.perf_counter() - started
            raise _Rollback
    except _Rollback:
        pass
    return {
        "slice": slice_rows,
        "slice_seconds": round(seconds, 2),
        "rows": total,
        "estimate_seconds": round(seconds * total / slice_rows, 1),
    }


class _credentials_reset_of_chain_rows_only:
    """rebuild_from_chain with the credentials app's reset limited to the rows the chain knows (the
    single credentials and the members of the batches anchored on chain), so the replay re-derives
    them from the logs; the whole-table reset is estimated on its own (`_credential_reset_estimate`)."""

    def __enter__(self):
        from blockchain.indexing import registry

        self.registry = registry
        self.originals = dict(registry._rebuild_hooks)
        self.seconds: dict[str, float] = {}
        hooks = {**self.originals, "credentials": _reset_chain_rows}
        for name, hook in hooks.items():  # each hook timed (the command's other steps are the rest)
            registry._rebuild_hooks[name] = self._timed(name, hook)
        return self

    def _timed(self, name, hook):
        def run() -> None:
            started = time.perf_counter()
            hook()
            self.seconds[name] = round(time.perf_counter() - started, 2)

        return run

    def __exit__(self, *exc) -> None:
        self.registry._rebuild_hooks.clear()
        self.registry._rebuild_hooks.update(self.originals)


def _reset_chain_rows() -> None:
    from django.db.models import Q

    from credentials.models import BatchStatus, Credential, CredentialBatch
    from credentials.onchain.projection import clear_chain_facts

    on_chain = _on_chain_batches(list(CredentialBatch.objects.filter(status=BatchStatus.ANCHORED)))
    clear_chain_facts(Credential.objects.filter(Q(onchain_id__isnull=False) | Q(batch__in=on_chain)))
    CredentialBatch.objects.filter(pk__in=on_chain).update(
        status=BatchStatus.PENDING, anchored_tx_hash="", onchain_batch_id=None, anchored_at=None
    )


def _credentials_anchored() -> dict[str, int]:
    """What the replay derived again: single credentials with their on-chain id, and issued members
    of the batches anchored on chain."""
    from credentials.models import BatchStatus, Credential, CredentialBatch, CredentialStatus

    on_chain = _on_chain_batches(list(CredentialBatch.objects.filter(status=BatchStatus.ANCHORED)))
    return {
        "single": Credential.objects.filter(onchain_id__isnull=False, status=CredentialStatus.ISSUED).count(),
        "batch_members": Credential.objects.filter(
            batch__in=on_chain, status=CredentialStatus.ISSUED
        ).count(),
    }
