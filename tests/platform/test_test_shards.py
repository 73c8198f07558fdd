"""`make test`'s two shards (devtools/run_tests.py): every test file runs in exactly one of them (the
log-secret check in both), and no two shards share a database, a Redis database, a node port or a
log file."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from devtools.run_tests import ALONE, EVERY_SHARD, ROOT, alone_paths, shard_environment, shard_paths

BASE = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/ledgerbridge",
    "REDIS_URL": "redis://127.0.0.1:6379/15",
    "CHAIN_RPC_URL": "http://127.0.0.1:18545",
    "LOG_FILE": "/srv/var/test-logs/platform.log",
    "CACHE_KEY_PREFIX": "lbtest",
}


def _files(paths: list[str]) -> set[Path]:
    found: set[Path] = set()
    for path in paths:
        target = ROOT / path
        found |= {target} if target.is_file() else set(target.rglob("test_*.py"))
    return found


def test_every_test_file_runs_in_exactly_one_session_and_the_log_check_in_each():
    first, second = (_files([p for p in paths if not p.startswith("--")]) for paths in shard_paths(2))
    ignored = {ROOT / path.removeprefix("--ignore=") for path in shard_paths(2)[0] if path.startswith("--")}
    alone = _files(alone_paths())
    every = {ROOT / path for path in EVERY_SHARD}
    everything = set((ROOT / "tests").rglob("test_*.py"))
    assert ignored == {ROOT / path for path in ALONE} and ignored <= first | second
    assert (first | second) - ignored | alone == everything
    assert first & second == every and alone & (first | second) - ignored == every
    assert shard_paths(1) == [[]]  # one shard: pytest's own collection


def _resources(env: dict[str, str]) -> dict[str, object]:
    return {
        "database": urlparse(env["DATABASE_URL"]).path,
        "redis": {urlparse(env["REDIS_URL"]).path.lstrip("/"), env.get("TEST_ISOLATED_REDIS_DB", "12")},
        "node": urlparse(env["CHAIN_RPC_URL"]).port,
        "log": env["LOG_FILE"],
    }


def test_shards_share_no_database_redis_database_node_or_log():
    zero, one = shard_environment(0, BASE), shard_environment(1, BASE)
    assert zero == BASE  # the first shard is the suite as pytest alone runs it
    a, b = _resources(zero), _resources(one)
    assert a["database"] != b["database"] and b["database"] == "/ledgerbridge_shard1"
    assert not (a["redis"] & b["redis"])
    assert a["node"] != b["node"] and b["node"] != 18546  # nor the node smoke suite's port
    assert a["log"] != b["log"]


def test_a_shard_moves_chain_rpc_urls_with_its_node():
    # CHAIN_RPC_URLS wins over CHAIN_RPC_URL in the settings: left alone it would point the second
    # shard at the first shard's node.
    one = shard_environment(1, {**BASE, "CHAIN_RPC_URLS": BASE["CHAIN_RPC_URL"]})
    assert one["CHAIN_RPC_URLS"] == one["CHAIN_RPC_URL"] == "http://127.0.0.1:18547"
