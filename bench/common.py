"""What every bench shares: the context it runs in and the shape of a measurement."""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from devtools.devnode import AnvilNode


@dataclass
class BenchContext:
    node: AnvilNode
    root: Path


@dataclass
class Measurement:
    """One row of the report: ours against the naive way, from the same run.

    `higher_is_better` decides the ratio's direction so that a ratio > 1 always means "ours wins".
    `target_ratio` / `target_value` are the issue's targets; `met` says whether this run reached them.
    """

    what: str
    unit: str
    ours: float
    naive: float | None = None
    higher_is_better: bool = True
    target: str = ""
    target_ratio: float | None = None
    target_value: float | None = None
    samples: dict[str, list[float]] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    headline: bool = False  # shown in the README's table even without a target or naive column

    @property
    def ratio(self) -> float | None:
        if self.naive is None or not self.ours or not self.naive:
            return None
        return self.ours / self.naive if self.higher_is_better else self.naive / self.ours

    @property
    def met(self) -> bool | None:
        checks = []
        if self.target_ratio is not None:
            checks.append(self.ratio is not None and self.ratio >= self.target_ratio)
        if self.target_value is not None:
            checks.append(
                self.ours >= self.target_value if self.higher_is_better else self.ours <= self.target_value
            )
        return all(checks) if checks else None

    def as_dict(self, *, bench: str) -> dict:
        ratio = self.ratio
        met = self.met
        return {
            "bench": bench,
            "what": self.what,
            "unit": self.unit,
            "ours": self.ours,
            "naive": self.naive,
            "ratio": ratio,
            "target": self.target,
            "headline": self.headline,
            "met": met,
            "ours_text": fmt(self.ours, self.unit),
            "naive_text": fmt(self.naive, self.unit) if self.naive is not None else "—",
            "ratio_text": f"{ratio:,.1f}×" if ratio is not None else "—",
            "met_text": {True: "yes", False: "**no**", None: "—"}[met],
            "samples": self.samples,
            "extra": self.extra,
        }


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f} {unit}"
    return f"{value:,.2f} {unit}"


def median_of(runs: int, measure: Callable[[], float]) -> tuple[float, list[float]]:
    """Run `measure` `runs` times; return the median and every sample."""
    samples = [measure() for _ in range(runs)]
    return statistics.median(samples), samples


WEB_WORKERS = "web workers"
# What a process is for, from its command name and line (first match wins); this process is "bench"
# (the load generator, the confirmer loop).
PROCESS_ROLES = (
    ("postgres", lambda name, cmd: name.startswith("postgres") or cmd.startswith("postgres:")),
    ("redis", lambda name, cmd: name.startswith("redis-server")),
    ("anvil", lambda name, cmd: name == "anvil"),
    (WEB_WORKERS, lambda name, cmd: "gunicorn" in cmd),
    ("celery workers", lambda name, cmd: " celery " in f" {cmd} " or "celery worker" in cmd),
)
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds_by_role() -> dict[str, float]:
    """CPU seconds (user + system) every live process of this machine has used, summed per role
    (PROCESS_ROLES, "bench" for this process, "other" for the rest). Linux /proc; {} elsewhere."""
    totals: dict[str, float] = {}
    if not os.path.isdir("/proc"):
        return totals
    me = os.getpid()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as stat_file:
                stat = stat_file.read()
            with open(f"/proc/{pid}/cmdline", "rb") as cmd_file:
                cmd = cmd_file.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:  # gone meanwhile
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        seconds = (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # utime + stime
        role = (
            "bench" if int(pid) == me else next((r for r, test in PROCESS_ROLES if test(name, cmd)), "other")
        )
        totals[role] = totals.get(role, 0.0) + seconds
    return totals


class CpuUse:
    """CPU used per role between `start()` and `stop()`: where a load's CPU went, so a bench can say
    what limits it (measured, not guessed). Processes that ended in between are not counted."""

    def __init__(self) -> None:
        self.before: dict[str, float] = {}
        self.used: dict[str, float] = {}

    def start(self) -> CpuUse:
        self.before = cpu_seconds_by_role()
        return self

    def stop(self) -> CpuUse:
        after = cpu_seconds_by_role()
        self.used = {role: max(0.0, after[role] - self.before.get(role, 0.0)) for role in after}
        return self

    def ms_per(self, count: int) -> dict[str, float]:
        """Milliseconds of CPU per unit of work (a request, a transaction), per role, largest first;
        roles under 0.005 ms are left out."""
        per = {role: seconds * 1000 / count for role, seconds in self.used.items()} if count else {}
        return {role: round(ms, 3) for role, ms in sorted(per.items(), key=lambda kv: -kv[1]) if ms >= 0.005}


def mean_cpu(runs: list[dict[str, float]]) -> dict[str, float]:
    """The mean of several runs' `CpuUse.ms_per`, per role, largest first."""
    roles = {role for run in runs for role in run}
    mean = {role: round(statistics.fmean(run.get(role, 0.0) for run in runs), 3) for role in roles}
    return dict(sorted(mean.items(), key=lambda kv: -kv[1]))


def describe_cpu(per: dict[str, float]) -> str:
    return ", ".join(f"{role} {ms:.2f}" for role, ms in per.items()) + f" (total {sum(per.values()):.2f})"


def start_workers(count: int, *, name: str, concurrency: int = 1, include: str = "") -> list:
    """`count` real Celery worker processes with the bench's environment (DB, Redis, anvil)."""
    import uuid

    from config.celery import app
    from devtools.processes import ManagedProcess, celery_worker_argv, wait_until

    root = Path(__file__).resolve().parent.parent
    workers = []
    for i in range(count):
        node = f"{name}{i}-{uuid.uuid4().hex[:6]}@localhost"
        argv = celery_worker_argv(
            node_name=node,
            concurrency=concurrency,
            loglevel=os.environ.get("BENCH_WORKER_LOG_LEVEL", "WARNING"),
            include=include,
            quiet_cluster=True,
        )
        worker = ManagedProcess(
            node,
            argv,
            env=dict(os.environ),
            cwd=root,
            log_path=root / "var" / "bench-logs" / f"{name}{i}.log",
        ).start()
        workers.append(worker)
        try:
            wait_until(
                lambda n=node: bool(app.control.ping(destination=[n], timeout=1.0)), timeout=60, what=node
            )
        except TimeoutError:
            for started in workers:  # never leave a worker behind to consume the next run's tasks
                started.stop()
            raise
    return workers


def reset_chain_tables() -> None:
    """Empty the outbox and event tables of the bench database (deployments stay)."""
    from blockchain.models import ChainEvent, ChainTransaction, NonceAccount, TxAttempt

    TxAttempt.objects.all().delete()
    ChainTransaction.objects.all().delete()
    ChainEvent.objects.all().delete()
    NonceAccount.objects.all().delete()
    # Every run starts from the same table state: without this, a run pays for the dead rows and
    # stale statistics the previous run left (autovacuum is not due yet seconds later).
    from django.db import connection

    if connection.vendor == "postgresql":
        tables = [m._meta.db_table for m in (TxAttempt, ChainTransaction, ChainEvent, NonceAccount)]
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE " + ", ".join(tables))


def settle_outbox(*, rounds: int = 50) -> None:
    """Send and confirm until no outbox row is in flight (the bench's anvil confirms at once)."""
    from blockchain.models import IN_FLIGHT_STATUSES, ChainTransaction
    from blockchain.outbox.confirmer import confirm_pending
    from blockchain.outbox.sender import send_queued

    for _ in range(rounds):
        send_queued()
        confirm_pending()
        if not ChainTransaction.objects.filter(status__in=IN_FLIGHT_STATUSES).exists():
            return
    raise RuntimeError("the outbox did not settle")
