"""`make test`'s suite in two pytest processes side by side (this machine kind has two cores; most of
a test's time is spent waiting on anvil, PostgreSQL, Celery workers and subprocesses).

Each shard is a whole pytest session of its own: its own test database, Redis databases, anvil node
(port), Celery worker and log file, so no shard sees another's rows, keys, chain or log lines. The
tests that inspect what a run left behind (`@pytest.mark.last`, the log-secret check) run in every
shard, on that shard's log. Shard 0 takes the directories in FIRST_SHARD; shard 1 every other test
directory, so a new directory is never left out. The fault scenarios in ALONE run after both, in a
session of their own.

    python -m devtools.run_tests            # both shards; exit status 1 if either failed
    TEST_SHARDS=1 python -m devtools.run_tests   # one process, as `pytest` alone
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import tests.env_defaults  # noqa: F401  (the suite's defaults, which the shards derive from)

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
# Balanced by measured time (2026-12-07 on an AMD EPYC: 914 s against 729 s with accounts here;
# accounts alone take about 85 s); every test directory not named here goes to the second shard.
FIRST_SHARD = ("platform", "browser", "wallets")
# Tests every session runs: they check what their own session left behind.
EVERY_SHARD = ("tests/platform/test_log_secrets.py",)
# Fault scenarios timed against a node outage and worker crashes (waits of 30 s and more): they run
# after the shards, in a session of their own, on a machine the other shard does not load.
ALONE = ("tests/outbox/test_faults.py",)
ISOLATED_REDIS_DB = 12  # config/settings.py's TEST_ISOLATED_REDIS_DB default
HEARTBEAT_SECONDS = 60


def _with_path(url: str, path: str) -> str:
    return urlunparse(urlparse(url)._replace(path=path))


def _with_port(url: str, port: int) -> str:
    parsed = urlparse(url)
    return urlunparse(parsed._replace(netloc=f"{parsed.hostname}:{port}"))


def shard_environment(index: int, base: dict[str, str]) -> dict[str, str]:
    """The environment of shard INDEX: shard 0 is the suite's own; shard i > 0 moves the database
    name, both Redis databases, the anvil port and the log file."""
    env = dict(base)
    if index == 0:
        return env
    database = urlparse(base["DATABASE_URL"])
    env["DATABASE_URL"] = _with_path(base["DATABASE_URL"], f"{database.path}_shard{index}")
    redis_db = int(urlparse(base["REDIS_URL"]).path.lstrip("/") or 0)
    isolated = int(base.get("TEST_ISOLATED_REDIS_DB", ISOLATED_REDIS_DB))
    env["REDIS_URL"] = _with_path(base["REDIS_URL"], f"/{(redis_db - index) % 16}")
    env["TEST_ISOLATED_REDIS_DB"] = str((isolated - index) % 16)
    rpc = base["CHAIN_RPC_URL"]
    # Two apart: `make test`'s node smoke suite listens on the port between (SMOKE_RPC_URL).
    env["CHAIN_RPC_URL"] = _with_port(rpc, urlparse(rpc).port + 2 * index)
    if "CHAIN_RPC_URLS" in base:  # it wins over CHAIN_RPC_URL: it must name the shard's node too
        env["CHAIN_RPC_URLS"] = env["CHAIN_RPC_URL"]
    log = Path(base["LOG_FILE"])
    env["LOG_FILE"] = str(log.with_name(f"{log.stem}-shard{index}{log.suffix}"))
    env["CACHE_KEY_PREFIX"] = f"{base.get('CACHE_KEY_PREFIX', 'lbtest')}{index}"
    return env


def shard_paths(count: int) -> list[list[str]]:
    """Each shard's pytest arguments (paths relative to the repository)."""
    if count == 1:
        return [[]]
    directories = sorted(p.name for p in TESTS.iterdir() if p.is_dir() and any(p.glob("test_*.py")))
    first = [f"tests/{name}" for name in directories if name in FIRST_SHARD]
    second = [f"tests/{name}" for name in directories if name not in FIRST_SHARD]
    ignored = [f"--ignore={path}" for path in ALONE]
    shards = [first, second]
    for shard in shards:
        shard += [path for path in EVERY_SHARD if not any(path.startswith(d + "/") for d in shard)]
        shard += ignored
    return shards


def alone_paths() -> list[str]:
    """The session after the shards: the fault scenarios, and the checks every session runs."""
    return [*ALONE, *EVERY_SHARD]


def _last_line(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").rstrip().splitlines()
    except FileNotFoundError:
        return ""
    return lines[-1][-100:] if lines else ""


def main() -> int:
    count = int(os.environ.get("TEST_SHARDS", "2"))
    if count not in (1, 2):
        print("TEST_SHARDS is 1 or 2", file=sys.stderr)
        return 2
    if count == 1:
        return subprocess.call([sys.executable, "-m", "pytest", *sys.argv[1:]], cwd=ROOT)
    out_dir = Path(os.environ["LOG_FILE"]).parent
    out_dir.mkdir(parents=True, exist_ok=True)
    shards = []
    for index, paths in enumerate(shard_paths(count)):
        output = out_dir / f"pytest-shard{index}.out"
        handle = output.open("w")
        process = subprocess.Popen(
            [sys.executable, "-m", "pytest", *sys.argv[1:], *paths],
            cwd=ROOT,
            env=shard_environment(index, dict(os.environ)),
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C here stops each shard and its children below
        )
        shards.append((index, process, output, handle))
        print(f"shard {index}: {' '.join(paths)} -> {output.relative_to(ROOT)}", flush=True)

    def stop(signum, _frame):
        for _, process, _, _ in shards:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGINT)
        for _, process, _, _ in shards:
            process.wait()
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    heartbeat = time.monotonic() + HEARTBEAT_SECONDS
    while any(process.poll() is None for _, process, _, _ in shards):
        time.sleep(1)
        if time.monotonic() >= heartbeat:  # CI shows a sign of life, and where each shard is
            heartbeat += HEARTBEAT_SECONDS
            for index, process, output, _ in shards:
                state = "running" if process.poll() is None else f"done ({process.returncode})"
                print(f"  shard {index} {state}: {_last_line(output)}", flush=True)
    status = 0
    for index, process, output, handle in shards:
        handle.close()
        print(f"\n===== shard {index} (exit status {process.returncode}) =====", flush=True)
        sys.stdout.write(output.read_text(errors="replace"))
        status = status or process.returncode
    print(f"\n===== alone: {' '.join(alone_paths())} =====", flush=True)
    alone = subprocess.call(
        [sys.executable, "-m", "pytest", *sys.argv[1:], *alone_paths()],
        cwd=ROOT,
        env=shard_environment(0, dict(os.environ)),
    )
    return status or alone


if __name__ == "__main__":
    sys.exit(main())
