"""Which files a process's Prometheus samples go to in multiprocess mode.

prometheus_client names them after the process id. Processes of one host never share an id, but
containers do (each has its own PID namespace, so every container's first process is 1): when
several containers share one PROMETHEUS_MULTIPROC_DIR (docker compose's `prommetrics` volume, so
that a web container's `/metrics` includes the workers' samples), PROMETHEUS_MULTIPROC_PER_HOST=true
names each process `<host>-<pid>` instead. Imported by `config` before any metric exists; no Django.
"""

from __future__ import annotations

import os
import socket


def shared_between_hosts() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR")) and os.environ.get(
        "PROMETHEUS_MULTIPROC_PER_HOST", ""
    ).lower() in ("1", "true", "yes")


def process_identity(pid: int | None = None) -> str:
    """The name of this process's (or `pid`'s, on this host) sample files."""
    pid = os.getpid() if pid is None else pid
    if not shared_between_hosts():
        return str(pid)
    # prometheus_client splits file names on "_"; a container's hostname is hex, but be sure.
    host = socket.gethostname().replace("_", "-") or "host"
    return f"{host}-{pid}"


def configure_process_identity() -> None:
    """Make every metric created from now on write to `<host>-<pid>` files when the directory is
    shared between hosts (call before any metric is created)."""
    if shared_between_hosts():
        from prometheus_client import values

        values.ValueClass = values.MultiProcessValue(process_identifier=process_identity)
