"""`make run`'s supervisor across stop/start cycles: the chain state survives every way of stopping it
(Ctrl-C, SIGTERM, SIGHUP, a SIGTERM to `make` itself, a stop in the middle of start-up), no child
outlives it, and a state file that is not complete is moved aside with one line instead of killing
the next start."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.conf import settings

from devtools.processes import free_port, port_is_open, wait_until

pytestmark = pytest.mark.timeout(900)

ROOT = Path(settings.BASE_DIR)
# The platform under test uses its own embedded database and broker in a temporary VAR_DIR: none of
# the test run's own services or settings.
DROPPED = ("DATABASE_URL", "REDIS_URL", "CHAIN_RPC_URL", "DJANGO_ENV", "LOG_FILE", "CACHE_KEY_PREFIX")


class Platform:
    def __init__(self, var: Path) -> None:
        self.var = var
        self.web_port, self.anvil_port, self.redis_port = free_port(), free_port(), free_port()
        self.env = {k: v for k, v in os.environ.items() if k not in DROPPED}
        self.env.update(
            VAR_DIR=str(var),
            RUN_PORT=str(self.web_port),
            RUN_ANVIL_PORT=str(self.anvil_port),
            RUN_REDIS_PORT=str(self.redis_port),
            LOG_JSON="false",
        )
        self.process: subprocess.Popen | None = None
        self.output = var / "supervisor.out"

    def start(self, *, through_make: bool = False) -> None:
        argv = (
            ["make", "--no-print-directory", "run"]
            if through_make
            else [sys.executable, "-m", "devtools.run_platform"]
        )
        with open(self.output, "w") as out:
            self.process = subprocess.Popen(
                argv, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def log(self) -> str:
        return self.output.read_text(errors="replace")

    def wait_for(self, text: str, timeout: float = 240) -> None:
        wait_until(lambda: text in self.log() or self.process.poll() is not None, timeout=timeout, what=text)
        assert text in self.log(), self.log()[-3000:]

    def rpc(self, method: str, *params):
        answer = requests.post(
            f"http://127.0.0.1:{self.anvil_port}",
            json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)},
            timeout=10,
        ).json()
        return answer["result"]

    def block(self) -> int:
        return int(self.rpc("eth_blockNumber"), 16)

    def stop(self, sig: int) -> None:
        self.process.send_signal(sig)
        self.process.wait(timeout=180)
        wait_until(
            lambda: not self.anything_listening(), timeout=30, what="every port of the platform to close"
        )

    def anything_listening(self) -> bool:
        return any(
            port_is_open("127.0.0.1", port) for port in (self.anvil_port, self.web_port, self.redis_port)
        )


def test_five_stop_start_cycles_keep_the_chain_and_leave_no_child(tmp_path):
    platform = Platform(tmp_path)
    state = tmp_path / "anvil-state.json"
    last_block = -1
    ways = [
        ("ctrl-c once the platform is up", signal.SIGINT, "Ctrl-C stops everything", False),
        ("SIGTERM during start-up", signal.SIGTERM, "[run] anvil on", False),
        ("SIGHUP once up", signal.SIGHUP, "Ctrl-C stops everything", False),
        ("SIGTERM to make itself", signal.SIGTERM, "Ctrl-C stops everything", True),
        ("SIGINT during start-up", signal.SIGINT, "[run] anvil on", False),
    ]
    for label, sig, ready, through_make in ways:
        platform.start(through_make=through_make)
        platform.wait_for(ready)
        block = platform.block()
        assert block >= last_block, f"{label}: the chain went back from {last_block} to {block}"
        platform.rpc("anvil_mine", "0x3")  # something the next start must still have
        last_block = platform.block()
        if through_make:
            os.kill(platform.process.pid, sig)  # make alone: its child learns it from the kernel
            platform.process.wait(timeout=60)
            wait_until(lambda: not platform.anything_listening(), timeout=180, what="the node to stop")
        else:
            platform.stop(sig)
        assert "chain state saved" in platform.log(), f"{label}:\n{platform.log()[-3000:]}"
        assert json.loads(state.read_text())["block"], label
        assert not (tmp_path / "run.env").exists(), label
    platform.start()
    platform.wait_for("[run] anvil on")
    assert platform.block() >= last_block
    platform.stop(signal.SIGINT)


def test_a_state_file_that_is_not_complete_is_moved_aside_with_one_line(tmp_path):
    (tmp_path / "anvil-state.json").write_text('{"block": {"number": "0x1"}, "accou')  # cut off mid-write
    platform = Platform(tmp_path)
    platform.start()
    platform.wait_for("[run] anvil on")
    assert "is not a complete chain state; starting a fresh chain" in platform.log()
    assert len(list(tmp_path.glob("anvil-state.corrupt-*.json"))) == 1
    assert platform.block() == 0
    platform.stop(signal.SIGINT)
