"""Child processes (anvil, Celery workers, gunicorn) for `make run`, the tests and the bench.

Each child gets its own process group so stopping it also stops whatever it forked.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from pathlib import Path
from typing import IO

WORKER_QUEUES = "default,chain-send,chain-index"
_PR_SET_PDEATHSIG = 1


def anvil_binary(root: Path) -> Path:
    """The anvil executable of the npm package's platform build, not its Node wrapper: the wrapper
    exits on SIGTERM while the binary is still dumping its state, so whoever stops the wrapper's
    group then kills the binary halfway through the file. The wrapper is the fallback."""
    for candidate in sorted((root / "node_modules" / "@foundry-rs").glob("anvil-*/bin/anvil")):
        if os.access(candidate, os.X_OK):
            return candidate
    return root / "node_modules" / ".bin" / "anvil"


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """Ask Linux to send `sig` to this process when its parent dies (prctl PR_SET_PDEATHSIG), so a
    supervisor killed without a chance to clean up takes its children with it. No-op elsewhere."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    with suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)


def celery_worker_argv(
    *,
    node_name: str | None = None,
    concurrency: int = 2,
    pool: str = "prefork",
    loglevel: str = "INFO",
    include: str = "",
    quiet_cluster: bool = False,
    banner: bool = True,
) -> list[str]:
    """The one command line of a Celery worker on every queue (`make run`, tests, bench)."""
    argv = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        *([] if banner else ["--quiet"]),
        "worker",
        "-Q",
        WORKER_QUEUES,
        "-P",
        pool,
        "-c",
        str(concurrency),
        "-l",
        loglevel,
    ]
    if node_name:
        argv += ["-n", node_name]
    if quiet_cluster:  # no gossip or mingle: workers started for a test or bench need no peers
        argv += ["--without-gossip", "--without-mingle"]
    if include:
        argv += ["--include", include]
    return argv


class EmbeddedRedis:
    """A private redis-server for `make run` and the broker tests, on loopback with a password.

    It is the embedded default's broker, cache and lock store: the same transport as production, so
    concurrent workers and producers are as safe as they are there (kombu's filesystem transport,
    the former default, let a reader see a message file its writer had not finished). Messages are
    kept in an append-only file under `data_dir`, so a restart loses no queued task.
    """

    def __init__(self, *, data_dir: Path, port: int, password: str, tied_to_parent: bool = False) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise FileNotFoundError(
                "redis-server is not installed: install it (apt-get install redis-server) or set REDIS_URL"
            )
        data_dir.mkdir(parents=True, exist_ok=True)
        self.port = port
        self.password = password
        # The configuration, password included, goes in a file only this user can read (an argument
        # would show in `ps`).
        config = data_dir / "redis.conf"
        config.touch(mode=0o600)
        config.chmod(0o600)
        config.write_text(
            "\n".join(
                [
                    "bind 127.0.0.1",
                    f"port {port}",
                    "protected-mode yes",
                    f'dir "{data_dir}"',
                    'save ""',
                    "appendonly yes",
                    "appendfsync everysec",
                    f'requirepass "{password}"',
                    "daemonize no",
                    "loglevel warning",
                    "",
                ]
            )
        )
        self.process = ManagedProcess(
            "redis",
            [binary, str(config)],
            cwd=data_dir,
            log_path=data_dir / "redis.log",
            tied_to_parent=tied_to_parent,
        )

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def start(self, *, timeout: float = 30) -> EmbeddedRedis:
        self.process.start()
        wait_until(
            lambda: port_is_open("127.0.0.1", self.port),
            timeout=timeout,
            what="redis-server to listen",
            process=self.process,
        )
        return self

    def stop(self, timeout: float = 20) -> int | None:
        return self.process.stop(timeout=timeout)  # SIGTERM: redis flushes its append-only file


def port_is_open(host: str, port: int, timeout: float = 0.2) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        return sock.connect_ex((host, port)) == 0


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def free_port() -> int:
    """A free loopback port below the kernel's ephemeral range.

    A port the kernel handed out (bind to 0) comes from the ephemeral range, and while a node on it
    is stopped any outgoing connection, or a client retrying against it, may take it as its own
    source port; restarting the node on the same port then fails. Ports below the range are only
    ever taken by an explicit bind.
    """
    low, _ = _ephemeral_range()
    floor = min(20000, low - 1000)
    for _attempt in range(200):
        port = random.randint(floor, low - 1)  # a port number, not a secret
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free loopback port in {floor}..{low - 1}")


def wait_until(
    predicate: Callable[[], bool],
    *,
    timeout: float,
    interval: float = 0.1,
    what: str = "condition",
    process: ManagedProcess | None = None,
) -> None:
    """Poll `predicate` until it holds; give up at `timeout`, or at once if `process` has exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and not process.running():
            raise RuntimeError(
                f"{process.name} exited (code {process.popen.returncode if process.popen else None}) "
                f"before {what}; its log ends:\n{process.log_tail(20)}"
            )
        try:
            if predicate():
                return
        except Exception:  # noqa: S110 - not ready yet: connection refused and the like
            pass
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


class ManagedProcess:
    """A child process with its own process group, output to a log file or inherited."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        cwd: str | Path | None = None,
        log_path: str | Path | None = None,
        tied_to_parent: bool = False,
    ) -> None:
        self.name = name
        # SIGTERM when the process that started it dies (make run's supervisor: no orphaned node).
        self.tied_to_parent = tied_to_parent
        self.argv = list(argv)
        self.env = env
        self.cwd = cwd
        self.log_path = Path(log_path) if log_path else None
        self.popen: subprocess.Popen | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> ManagedProcess:
        if self.log_path:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=self.cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT if self._log else None,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent if self.tied_to_parent else None,
        )
        return self

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal_group(self, sig: int) -> None:
        if self.running():
            with suppress(ProcessLookupError):
                os.killpg(self.popen.pid, sig)

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM the group, wait, then SIGKILL whatever is left. Returns the exit code."""
        if self.popen is None:
            return None
        self.signal_group(signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.signal_group(signal.SIGKILL)
            self.popen.wait(timeout=5)
        else:
            # The leader exited; make sure no forked child outlives it.
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(self.popen.pid, signal.SIGKILL)
        if self._log:
            self._log.close()
            self._log = None
        return self.popen.returncode

    def kill(self) -> None:
        """SIGKILL the whole group at once (crash simulation)."""
        self.signal_group(signal.SIGKILL)
        if self.popen:
            self.popen.wait(timeout=10)

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
