"""`make run`: the whole platform in the foreground until Ctrl-C.

Starts anvil (unless CHAIN_RPC_URL is set), migrates, deploys the contracts, seeds demo users,
then runs gunicorn, a Celery worker, Celery beat and the chain poller. Ctrl-C (or any child
dying) stops every child. Usage: python -m devtools.run_platform
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from devtools.processes import ManagedProcess, celery_worker_argv, port_is_open, wait_until

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
HOST = os.environ.get("RUN_HOST", "127.0.0.1")
PORT = int(os.environ.get("RUN_PORT", "8000"))
ANVIL_PORT = int(os.environ.get("RUN_ANVIL_PORT", "8545"))


def say(text: str) -> None:
    print(f"[run] {text}", flush=True)


def manage(*args: str, env: dict[str, str], capture: bool = False) -> str:
    result = subprocess.run(
        [PY, "manage.py", *args], cwd=ROOT, env=env, text=True, capture_output=capture, check=False
    )
    if result.returncode != 0:
        if capture:
            sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"[run] manage.py {' '.join(args)} failed (exit {result.returncode})")
    return result.stdout if capture else ""


def has_command(name: str, env: dict[str, str]) -> bool:
    out = subprocess.run(
        [PY, "manage.py", "help", "--commands"], cwd=ROOT, env=env, text=True, capture_output=True, check=True
    ).stdout
    return name in out.split()


def healthy(url: str) -> bool:
    try:
        # An http:// URL this script builds from its own host and port, never input.
        with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310  # nosec B310
            return response.status == 200
    except Exception:
        return False


def main() -> int:
    env = dict(os.environ)
    env.setdefault("DJANGO_ENV", "development")
    var = ROOT / "var"
    var.mkdir(exist_ok=True)
    # Every process writes its metrics here; /metrics in any web worker serves the sum. A fresh
    # start begins from an empty directory (samples of dead processes would otherwise pile up).
    metrics_dir = Path(env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(var / "prometheus")))
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    children: list[ManagedProcess] = []

    stop_requested = False

    def request_stop(signum, _frame) -> None:
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    try:
        if "CHAIN_RPC_URL" not in env:
            if port_is_open("127.0.0.1", ANVIL_PORT):
                raise SystemExit(f"[run] port {ANVIL_PORT} is busy: stop that process or set CHAIN_RPC_URL")
            env["CHAIN_RPC_URL"] = f"http://127.0.0.1:{ANVIL_PORT}"
            # --state keeps the chain across restarts, so deployments recorded in the DB stay valid.
            anvil = ManagedProcess(
                "anvil",
                [
                    str(ROOT / "node_modules/.bin/anvil"),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(ANVIL_PORT),
                    "--chain-id",
                    "31337",
                    "--state",
                    str(var / "anvil-state.json"),
                    "--silent",
                    # No historical states on disk (anvil never deletes them from ~/.foundry).
                    "--max-persisted-states",
                    "0",
                ],
            ).start()
            children.append(anvil)
            wait_until(lambda: port_is_open("127.0.0.1", ANVIL_PORT), timeout=30, what="anvil")
            say(f"anvil on {env['CHAIN_RPC_URL']} (state in var/anvil-state.json)")
        say("database: " + ("DATABASE_URL" if "DATABASE_URL" in env else "embedded SQLite (var/db.sqlite3)"))
        say("broker:   " + ("REDIS_URL" if "REDIS_URL" in env else "embedded filesystem broker (var/broker)"))
        manage("migrate", "--noinput", "-v", "0", env=env)
        if has_command("deploy_contracts", env):
            manage("deploy_contracts", "--redeploy-if-reset", env=env)
        manage("collectstatic", "--noinput", "-v", "0", env=env)
        logins = manage("seed_demo", env=env, capture=True)

        web_env = {
            **env,
            "GUNICORN_BIND": f"{HOST}:{PORT}",
            "WEB_CONCURRENCY": env.get("WEB_CONCURRENCY", "2"),
        }
        children.append(
            ManagedProcess(
                "web",
                [PY, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "config.wsgi:application"],
                env=web_env,
                cwd=ROOT,
            ).start()
        )
        children.append(
            ManagedProcess(
                "worker",
                celery_worker_argv(concurrency=2),
                env=env,
                cwd=ROOT,
            ).start()
        )
        children.append(
            ManagedProcess(
                "beat",
                [
                    PY,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "beat",
                    "-l",
                    "INFO",
                    "--pidfile",
                    str(var / "celerybeat.pid"),
                ],
                env=env,
                cwd=ROOT,
            ).start()
        )
        if has_command("poll_blockchain", env):
            children.append(
                ManagedProcess("poller", [PY, "manage.py", "poll_blockchain"], env=env, cwd=ROOT).start()
            )

        base = f"http://{HOST}:{PORT}"
        wait_until(
            lambda: healthy(f"{base}/healthz") or stop_requested,
            timeout=120,
            interval=0.5,
            what=f"{base}/healthz to answer 200",
        )
        if not stop_requested:
            print(
                f"\n  API      {base}/api/\n  Docs     {base}/api/docs/\n  Admin    {base}/admin/\n"
                f"  Health   {base}/healthz\n\n{logins}\nCtrl-C stops everything.\n",
                flush=True,
            )
        while not stop_requested:
            dead = [c for c in children if not c.running()]
            if dead:
                say(f"{dead[0].name} exited with code {dead[0].popen.returncode}; stopping the rest")
                return 1
            time.sleep(0.5)
        return 0
    finally:
        say("stopping " + ", ".join(c.name for c in reversed(children)))
        for child in reversed(children):
            child.stop(timeout=20)


if __name__ == "__main__":
    sys.exit(main())
