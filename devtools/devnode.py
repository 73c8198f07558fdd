"""A local anvil node (from the npm package @foundry-rs/anvil), for `make run`, tests and bench."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import requests
from django.conf import settings

from devtools.processes import ManagedProcess, anvil_binary, port_is_open, wait_until

ANVIL_BIN = anvil_binary(Path(settings.BASE_DIR))
ANVIL_DISK_ARGS = ("--max-persisted-states", "0")


class RpcError(Exception):
    def __init__(self, method: str, error: dict) -> None:
        super().__init__(f"{method}: {error.get('message', error)}")
        self.error = error


class AnvilNode:
    """Starts anvil on a loopback port and talks raw JSON-RPC to it (including anvil_* methods)."""

    def __init__(
        self,
        *,
        port: int,
        chain_id: int = 31337,
        state_path: str | Path | None = None,
        block_time: float | None = None,
        log_path: str | Path | None = None,
        extra_args: tuple[str, ...] = (),
        historical_states: int | None = None,
    ) -> None:
        self.port = port
        self.chain_id = chain_id
        self.url = f"http://127.0.0.1:{port}"
        argv = [
            str(ANVIL_BIN),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--chain-id",
            str(chain_id),
        ]
        if historical_states:
            # Memory only and first-in-first-out: anvil keeps the state of the last N blocks it
            # inserted, reverted ones included. A test session snapshots and reverts one base block
            # for thousands of tests, so with anvil's default window (500) the base block's state
            # was evicted late in a full run and a reorg down to it failed (BlockOutOfRangeError).
            argv += ["--prune-history", str(historical_states)]
        else:
            # anvil writes every historical state past its in-memory window to ~/.foundry/anvil/tmp
            # and never deletes it: a long test or bench run filled a 250 GB disk. Keep none on disk.
            argv += list(ANVIL_DISK_ARGS)
        if state_path:
            argv += ["--state", str(state_path)]
        if block_time:
            argv += ["--block-time", str(block_time)]
        self.process = ManagedProcess("anvil", [*argv, *extra_args], log_path=log_path)
        self._ids = itertools.count(1)
        self._session = requests.Session()

    def start(self, timeout: float = 30.0) -> AnvilNode:
        if not ANVIL_BIN.exists():
            raise FileNotFoundError(f"{ANVIL_BIN} is missing: run `npm ci` (make deps) first")
        if port_is_open("127.0.0.1", self.port):
            raise RuntimeError(
                f"port {self.port} is already in use; refusing to share a node with another process"
            )
        self.process.start()
        wait_until(
            lambda: self.rpc("eth_chainId") is not None,
            timeout=timeout,
            what=f"anvil on port {self.port}",
            process=self.process,
        )
        return self

    def stop(self) -> None:
        self.process.stop(timeout=10)

    def rpc(self, method: str, *params: Any) -> Any:
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)}
        reply = self._session.post(self.url, json=body, timeout=30).json()
        if "error" in reply:
            raise RpcError(method, reply["error"])
        return reply["result"]

    # Fault-injection helpers (see TOOLCHAIN.md for what anvil supports).
    def snapshot(self) -> str:
        return self.rpc("evm_snapshot")

    def revert(self, snapshot_id: str) -> bool:
        return self.rpc("evm_revert", snapshot_id)

    def mine(self, blocks: int = 1) -> None:
        self.rpc("anvil_mine", hex(blocks))

    def set_automine(self, enabled: bool) -> None:
        self.rpc("evm_setAutomine", enabled)
