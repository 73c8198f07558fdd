"""The bench's CPU accounting (bench.common.CpuUse): what a load cost each kind of process, which the
API and outbox benches report as what limits their throughput."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from bench.common import CpuUse, cpu_seconds_by_role, describe_cpu, mean_cpu

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

# Burns the given seconds of its own CPU time, says so, then waits for its stdin to close (a process
# that ended is no longer in /proc, so it must be alive when the second reading is taken).
BUSY = """
import sys, time
started = time.process_time()
while time.process_time() - started < float(sys.argv[1]):
    pass
print("done", flush=True)
sys.stdin.read()
"""


def _busy_child(seconds: float, *marker: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", BUSY, str(seconds), *marker],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_a_child_is_counted_under_the_role_its_command_line_names():
    use = CpuUse().start()
    child = _busy_child(0.3, "gunicorn: worker [bench]")  # a gunicorn worker's command line says so
    try:
        assert child.stdout.readline().strip() == "done"
        use.stop()
    finally:
        child.stdin.close()  # lets it end
        child.wait()
    assert use.used["web workers"] >= 0.25  # clock ticks are 10 ms
    assert use.used.get("celery workers", 0.0) < 0.25


def test_this_process_is_the_bench_and_a_rate_is_cpu_per_unit():
    use = CpuUse().start()
    started = time.process_time()
    while time.process_time() - started < 0.2:
        pass
    use.stop()
    assert use.used["bench"] >= 0.15
    per = use.ms_per(100)  # 100 units of work: ms of CPU each
    assert per["bench"] == pytest.approx(use.used["bench"] * 10, abs=0.001)
    assert list(per) == sorted(per, key=lambda role: -per[role])  # largest first
    assert use.ms_per(0) == {}


def test_every_role_is_a_known_name():
    roles = set(cpu_seconds_by_role())
    assert "bench" in roles
    assert roles <= {"bench", "postgres", "redis", "anvil", "web workers", "celery workers", "other"}


def test_runs_are_averaged_per_role_and_described():
    mean = mean_cpu([{"web workers": 2.0, "postgres": 0.3}, {"web workers": 3.0}])
    assert mean == {"web workers": 2.5, "postgres": 0.15}
    assert list(mean) == ["web workers", "postgres"]
    assert describe_cpu(mean) == "web workers 2.50, postgres 0.15 (total 2.65)"
