"""Local EVM dev nodes for `make run`, tests and bench: anvil (npm @foundry-rs/anvil), the default,
and Hardhat Network (npm hardhat), a second implementation the smoke suite in tests/hardhat/ runs on.

Both answer the same Python interface (start/stop, url, rpc, snapshot, revert, mine, set_automine),
so a test written against one runs on the other; only the node-specific JSON-RPC methods differ.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

import requests
from django.conf import settings

from devtools.processes import ManagedProcess, anvil_binary, port_is_open, wait_until

ANVIL_BIN = anvil_binary(Path(settings.BASE_DIR))
ANVIL_DISK_ARGS = ("--max-persisted-states", "0")
HARDHAT_BIN = Path(settings.BASE_DIR) / "node_modules" / ".bin" / "hardhat"
HARDHAT_CONFIG = Path(settings.BASE_DIR) / "devtools" / "hardhat" / "hardhat.config.js"


class RpcError(Exception):
    def __init__(self, method: str, error: dict) -> None:
        super().__init__(f"{method}: {error.get('message', error)}")
        self.error = error


class DevNode:
    """A dev node process on a loopback port, spoken to in raw JSON-RPC. Subclasses build the
    command line (`self.process`) and name their node-specific mining method."""

    name = "node"
    mine_method = ""  # e.g. anvil_mine / hardhat_mine: (blocks as hex) mines that many blocks at once

    def __init__(self, *, port: int, chain_id: int = 31337) -> None:
        self.port = port
        self.chain_id = chain_id
        self.url = f"http://127.0.0.1:{port}"
        self.process: ManagedProcess
        self._ids = itertools.count(1)
        self._session = requests.Session()

    def _check_installed(self) -> None:
        raise NotImplementedError

    def start(self, timeout: float = 30.0) -> DevNode:
        self._check_installed()
        if port_is_open("127.0.0.1", self.port):
            raise RuntimeError(
                f"port {self.port} is already in use; refusing to share a node with another process"
            )
        self.process.start()
        wait_until(
            lambda: self.rpc("eth_chainId") is not None,
            timeout=timeout,
            what=f"{self.name} on port {self.port}",
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

    # Fault injection common to both nodes (see TOOLCHAIN.md).
    def snapshot(self) -> str:
        return self.rpc("evm_snapshot")

    def revert(self, snapshot_id: str) -> bool:
        return self.rpc("evm_revert", snapshot_id)

    def mine(self, blocks: int = 1) -> None:
        self.rpc(self.mine_method, hex(blocks))

    def set_automine(self, enabled: bool) -> None:
        self.rpc("evm_setAutomine", enabled)

    def block_number(self) -> int:
        return int(self.rpc("eth_blockNumber"), 16)


class AnvilNode(DevNode):
    """Starts anvil on a loopback port and talks raw JSON-RPC to it (including anvil_* methods)."""

    name = "anvil"
    mine_method = "anvil_mine"

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
        super().__init__(port=port, chain_id=chain_id)
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

    def _check_installed(self) -> None:
        if not ANVIL_BIN.exists():
            raise FileNotFoundError(f"{ANVIL_BIN} is missing: run `npm ci` (make deps) first")

    def start(self, timeout: float = 30.0) -> AnvilNode:
        super().start(timeout)
        return self


class HardhatNode(DevNode):
    """Hardhat Network (`hardhat node`, npm hardhat 2.x) with devtools/hardhat/hardhat.config.js:
    chain id 31337, automine, the default mnemonic (account 0 = anvil's dev account 0).

    It has evm_snapshot/evm_revert/evm_setAutomine and hardhat_mine, but no anvil_* methods: a
    reorg is made by snapshot -> mine -> revert -> mine other blocks at the same heights.
    """

    name = "hardhat"
    mine_method = "hardhat_mine"

    def __init__(
        self,
        *,
        port: int,
        chain_id: int = 31337,
        log_path: str | Path | None = None,
        config_path: str | Path = HARDHAT_CONFIG,
    ) -> None:
        super().__init__(port=port, chain_id=chain_id)
        if chain_id != 31337:
            raise ValueError("devtools/hardhat/hardhat.config.js pins chain id 31337")
        argv = [
            str(HARDHAT_BIN),
            "--config",
            str(config_path),
            "node",
            "--hostname",
            "127.0.0.1",
            "--port",
            str(port),
        ]
        env = {
            **os.environ,
            # No prompt, no telemetry, no network at start: the node must come up unattended.
            "HARDHAT_DISABLE_TELEMETRY_PROMPT": "true",
            "DO_NOT_TRACK": "1",
        }
        self.process = ManagedProcess(
            "hardhat", argv, env=env, cwd=Path(config_path).parent, log_path=log_path
        )

    def _check_installed(self) -> None:
        if not HARDHAT_BIN.exists():
            raise FileNotFoundError(f"{HARDHAT_BIN} is missing: run `npm ci` (make deps) first")

    def start(self, timeout: float = 60.0) -> HardhatNode:
        super().start(timeout)
        return self
