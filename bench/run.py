"""`make bench`: run every bench/*.py against its own anvil, PostgreSQL and Redis; write one report.

Each bench module defines `TITLE` and `run(ctx: BenchContext) -> list[Measurement]`. The runner
writes bench/results.json (every number, medians and raw samples, machine description) and
bench/results.md (the table the README's performance section shows), and rewrites that section.
It exits non-zero only when a bench fails outright, never because a number missed its target.

Usage: python -m bench.run [NAME ...]     (default: every module)

Isolation: its own PostgreSQL database (ledgerbridge_bench, or BENCH_DATABASE_URL), a private
redis-server on a free port (or BENCH_REDIS_URL, which must name an empty database), and free ports
for anvil, gunicorn and the JSON-RPC proxy.
BENCH_README=0 leaves the README alone (trial runs).
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import platform
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS_JSON = ROOT / "bench" / "results.json"
RESULTS_MD = ROOT / "bench" / "results.md"
README = ROOT / "README.md"
README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"
NOT_BENCHES = {"run", "common"}


BENCH_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/ledgerbridge_bench"


def configure_environment(chain_port: int, redis_url: str) -> None:
    """Bench stores: their own PostgreSQL database and Redis, never the developer's or the tests'.

    The bench flushes its database before every module, so an ambient DATABASE_URL / REDIS_URL (a
    developer's shell, a test run's) is never used: BENCH_DATABASE_URL and BENCH_REDIS_URL choose
    others explicitly."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_ENV", "test")
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", BENCH_DATABASE_URL)
    os.environ["REDIS_URL"] = redis_url
    os.environ.setdefault("CACHE_KEY_PREFIX", "lbbench")
    os.environ["CHAIN_RPC_URL"] = f"http://127.0.0.1:{chain_port}"
    os.environ.pop("CHAIN_RPC_URLS", None)  # the bench's own node, whatever the shell exported
    os.environ.setdefault("CHAIN_ID", "31337")
    os.environ.setdefault("CHAIN_CONFIRMATIONS", "0")
    # One client address makes every request here: the rate limits stay on (their Redis INCR is part
    # of what is measured) but far above the load, so no measured request is refused.
    unlimited = "100000000/min"
    os.environ.setdefault(
        "THROTTLE_RATES",
        json.dumps({scope: unlimited for scope in ("login", "register", "verify_anon", "writes")}),
    )


class BenchRedis:
    """The bench's Redis: by default a private redis-server on a free port (devtools EmbeddedRedis,
    password-protected, thrown away afterwards), which no other local tool shares. BENCH_REDIS_URL
    names another instead; that database must be empty (the bench flushes what it writes)."""

    def __init__(self) -> None:
        self.embedded = None
        self.data_dir: Path | None = None
        self.url = os.environ.get("BENCH_REDIS_URL", "")

    def start(self) -> BenchRedis:
        if self.url:
            import redis

            size = redis.Redis.from_url(self.url).dbsize()
            if size:
                raise SystemExit(
                    f"BENCH_REDIS_URL names a Redis database holding {size} keys; the bench needs an "
                    "empty one of its own (unset BENCH_REDIS_URL for a private redis-server)"
                )
            return self
        import secrets

        from devtools.processes import EmbeddedRedis, free_port

        port = free_port()
        self.data_dir = ROOT / "var" / f"bench-redis-{port}"
        self.embedded = EmbeddedRedis(
            data_dir=self.data_dir, port=port, password=secrets.token_hex(16), tied_to_parent=True
        ).start()
        self.url = self.embedded.url
        return self

    def stop(self) -> None:
        if self.embedded is not None:
            import shutil

            self.embedded.stop()
            shutil.rmtree(self.data_dir, ignore_errors=True)


def ensure_database() -> None:
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    params = {"host": db["HOST"] or "127.0.0.1", "port": db["PORT"] or 5432, "user": db["USER"] or "postgres"}
    if db.get("PASSWORD"):
        params["password"] = db["PASSWORD"]
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{db["NAME"]}"')


def bench_modules(selected: list[str]) -> list[str]:
    names = sorted(
        m.name
        for m in pkgutil.iter_modules([str(ROOT / "bench")])
        if m.name not in NOT_BENCHES and not m.name.startswith("_")  # _helpers are not benches
    )
    unknown = set(selected) - set(names)
    if unknown:
        raise SystemExit(f"unknown bench(es): {', '.join(sorted(unknown))}; have: {', '.join(names)}")
    return [n for n in names if not selected or n in selected]


def machine_description() -> dict:
    mem_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": mem_gib,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def markdown_table(measurements: list[dict]) -> str:
    lines = [
        "| bench | what | ours | naive | ratio | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in measurements:
        lines.append(
            f"| {m['bench']} | {m['what']} | {m['ours_text']} | {m['naive_text']} | {m['ratio_text']} "
            f"| {m['target'] or ''} | {m['met_text']} |"
        )
    return "\n".join(lines)


def update_readme(table: str, generated_at: str, machine: dict) -> None:
    if not README.exists() or os.environ.get("BENCH_README", "1") == "0":
        return  # BENCH_README=0: a trial run that must not touch the README
    text = README.read_text()
    if README_START not in text or README_END not in text:
        return
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    summary = (
        f"Last `make bench`: {generated_at}, {machine['cores']} cores, {machine['memory_gib']} GiB, "
        f"{machine['cpu']}. Medians of several runs; every number (gas of each write function too) in "
        "[`bench/results.md`](bench/results.md), raw samples in `bench/results.json`.\n\n"
    )
    README.write_text(f"{head}{README_START}\n{summary}{table}\n{README_END}{tail}")


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(ROOT))
    # The environment must be set before anything imports config (which loads the settings).
    from devtools.processes import free_port

    chain_port = free_port()  # below the ephemeral range: no outgoing connection takes it meanwhile
    bench_redis = BenchRedis().start()
    try:
        configure_environment(chain_port, bench_redis.url)
        return _run(argv, chain_port)
    finally:
        bench_redis.stop()


def _run(argv: list[str], chain_port: int) -> int:
    import django

    django.setup()
    ensure_database()

    from django.core.management import call_command

    from bench.common import BenchContext
    from devtools.devnode import AnvilNode

    names = bench_modules(argv)
    failures: list[str] = []
    measurements: list[dict] = []
    call_command("migrate", "--noinput", verbosity=0)
    for name in names:
        # Every bench gets a fresh chain and database: one bench's 20,000 events must not slow the next.
        call_command("flush", "--noinput", verbosity=0)
        module = importlib.import_module(f"bench.{name}")
        node = AnvilNode(
            port=chain_port,
            log_path=ROOT / "var" / "bench-logs" / f"anvil-{name}.log",
            extra_args=getattr(module, "ANVIL_ARGS", ()),  # a module's own mining mode, if any
        ).start()
        print(f"[bench] {name}: {module.TITLE}", flush=True)
        started = time.perf_counter()
        try:
            for m in module.run(BenchContext(node=node, root=ROOT)):
                row = m.as_dict(bench=name)
                measurements.append(row)
                print(
                    f"[bench]   {row['what']}: ours {row['ours_text']}, naive {row['naive_text']}, "
                    f"ratio {row['ratio_text']} (target {row['target']}: {row['met_text']})",
                    flush=True,
                )
        except Exception:
            failures.append(name)
            traceback.print_exc()
        finally:
            node.stop()
            from blockchain.chain.client import get_web3

            get_web3.cache_clear()
        print(f"[bench] {name} took {time.perf_counter() - started:.1f}s", flush=True)

    generated_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    machine = machine_description()
    if argv and RESULTS_JSON.exists():
        # A partial run (`make bench BENCH=name`) replaces only its own rows of the last report.
        previous = json.loads(RESULTS_JSON.read_text()).get("measurements", [])
        ran = set(names)
        measurements = [m for m in previous if m["bench"] not in ran] + measurements
        measurements.sort(key=lambda m: m["bench"])
    table = markdown_table(measurements)
    # The README shows the comparisons and targets; every number is in bench/results.md.
    headline = markdown_table(
        [m for m in measurements if m["target"] or m["naive"] is not None or m.get("headline")]
    )
    RESULTS_JSON.write_text(
        json.dumps(
            {
                "generated_at": generated_at,
                "machine": machine,
                "failures": failures,
                "measurements": measurements,
            },
            indent=2,
        )
        + "\n"
    )
    RESULTS_MD.write_text(f"# Bench results ({generated_at})\n\n{table}\n")
    update_readme(headline, generated_at, machine)
    print(f"\n{table}\n\n[bench] wrote {RESULTS_JSON.relative_to(ROOT)} and {RESULTS_MD.relative_to(ROOT)}")
    if failures:
        print(f"[bench] FAILED: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
