"""`make run`: the whole platform in the foreground until Ctrl-C.

Starts anvil (unless CHAIN_RPC_URL or CHAIN_RPC_URLS is set), migrates, deploys the contracts, seeds
demo users, then runs gunicorn, a Celery worker, Celery beat and the chain poller. Usage:
python -m devtools.run_platform

- Ctrl-C, SIGTERM or SIGHUP stop every child, anvil last and gracefully: the binary dumps the chain
  to `anvil-state.next.json`, which replaces `anvil-state.json` only once it is complete, so a stop
  at any moment leaves a whole state behind. A state that does not parse is moved aside with one line.
- No child outlives the supervisor: each is tied to it (PR_SET_PDEATHSIG), and the supervisor to
  whoever started it (`make`), so even a SIGKILL of `make run` takes the node down with it.
- A crashed web, worker, beat or poller process is restarted with a message (a few times, then the
  platform stops); anvil exiting stops everything, with the end of its log.
- `VAR_DIR/run.env` tells commands started in another terminal (reconcile, verify_loans, …) which
  node and broker this platform uses; it is removed at stop.
- Without REDIS_URL the broker, cache and locks are a private redis-server under `VAR_DIR/redis`
  (restarted like the other children); a DATABASE_URL naming a missing database is created.
- The terminal shows warnings and the supervisor's lines; everything is in `VAR_DIR/log/`.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from devtools.database import DatabaseUnavailable, ensure_database
from devtools.processes import (
    EmbeddedRedis,
    ManagedProcess,
    anvil_binary,
    celery_worker_argv,
    die_with_parent,
    port_is_open,
    wait_until,
)

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
HOST = os.environ.get("RUN_HOST", "127.0.0.1")
PORT = int(os.environ.get("RUN_PORT", "8000"))
ANVIL_PORT = int(os.environ.get("RUN_ANVIL_PORT", "8545"))
REDIS_PORT = int(os.environ.get("RUN_REDIS_PORT", "6390"))
# How a command is run from a fresh shell (no virtualenv active): what the banner tells people to type.
MANAGE = ".venv/bin/python manage.py"
# A crashed child is restarted this many times within RESTART_WINDOW seconds before the platform stops.
MAX_RESTARTS = 5
RESTART_WINDOW = 300.0
ANVIL_STOP_SECONDS = 60.0  # a large state takes a while to dump; never cut it short lightly


def say(text: str) -> None:
    print(f"[run] {text}", flush=True)


class StopRequested(Exception):
    """Ctrl-C, SIGTERM or SIGHUP arrived: stop what has started, from wherever start-up got to."""


_stop = {"requested": False}


def request_stop(signum, _frame) -> None:
    _stop["requested"] = True


def check_stop() -> None:
    if _stop["requested"]:
        raise StopRequested


def manage(*args: str, env: dict[str, str], capture: bool = False, check: bool = True) -> str:
    """Run a management command; a failure stops start-up unless `check` is off (then the output,
    error included, is returned for the caller to report)."""
    check_stop()
    result = subprocess.run(
        [PY, "manage.py", *args], cwd=ROOT, env=env, text=True, capture_output=capture, check=False
    )
    check_stop()  # a Ctrl-C in the terminal also interrupts the command itself
    if not check:
        return (result.stdout + result.stderr).strip() if result.returncode else ""
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


def health_status(url: str) -> int | None:
    """The status /healthz answers (200 or 503), None while the web process does not answer."""
    try:
        # An http:// URL this script builds from its own host and port, never input.
        with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310  # nosec B310
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except Exception:
        return None


class ChainState:
    """anvil's state file, replaced only by a complete dump."""

    def __init__(self, var: Path) -> None:
        self.path = var / "anvil-state.json"
        self.next = var / "anvil-state.next.json"

    @staticmethod
    def complete(path: Path) -> bool:
        try:
            with open(path) as handle:
                state = json.load(handle)
        except (OSError, ValueError):
            return False
        return isinstance(state, dict) and "block" in state and "accounts" in state

    def _aside(self, path: Path, why: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        moved = path.with_name(f"anvil-state.corrupt-{stamp}.json")
        os.replace(path, moved)
        say(f"{path.name} {why}: moved to {moved.name}")

    def prepare(self) -> Path | None:
        """Before anvil starts: promote a complete dump the last run left, set a broken file aside.
        Returns the state to load, if any."""
        if self.next.exists():
            if self.complete(self.next):
                os.replace(self.next, self.path)
            else:
                self._aside(self.next, "is an unfinished dump (the last stop was cut short)")
        if self.path.exists() and not self.complete(self.path):
            self._aside(self.path, "is not a complete chain state; starting a fresh chain")
        return self.path if self.path.exists() else None

    def save(self) -> None:
        """After anvil exited: keep its dump if it is complete, else the previous state."""
        if self.complete(self.next):
            os.replace(self.next, self.path)
            say(f"chain state saved in {self.path}")
        elif self.next.exists():
            self._aside(self.next, "was not finished when anvil stopped; the previous state is kept")


class Child:
    """A supervised process: how to start it, and whether it may be restarted after a crash."""

    def __init__(self, name: str, start: Callable[[], ManagedProcess], *, restartable: bool = True) -> None:
        self.name = name
        self._start = start
        self.restartable = restartable
        self.process = start()
        self.restarts: list[float] = []

    def restart(self) -> bool:
        now = time.monotonic()
        self.restarts = [t for t in self.restarts if now - t < RESTART_WINDOW] + [now]
        if len(self.restarts) > MAX_RESTARTS:
            return False
        self.process.stop(timeout=5)
        self.process = self._start()
        return True


def quiet_logging(env: dict[str, str], var: Path) -> None:
    """The terminal gets warnings (not clients' 4xx answers) and the supervisor's own lines; every log
    line is in var/log/."""
    log_dir = var / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    env.setdefault("LOG_FILE", str(log_dir / "platform.log"))
    env.setdefault("LOG_CONSOLE_LEVEL", "WARNING")
    env.setdefault("LOG_CONSOLE_CLIENT_ERRORS", "false")  # a client's 4xx is in the file, not the terminal
    env.setdefault("GUNICORN_ACCESS_LOG", str(log_dir / "access.log"))
    env.setdefault("GUNICORN_LOG_LEVEL", "warning")
    if os.geteuid() == 0:
        # Celery prints an eight-line warning per worker start for root; one line here says it once.
        filters = [f for f in env.get("PYTHONWARNINGS", "").split(",") if f]
        env["PYTHONWARNINGS"] = ",".join([*filters, "ignore:You're running the worker with superuser"])
        say("running as root: fine for a throwaway dev machine; production runs as its own user (deploy/)")


def write_run_env(path: Path, env: dict[str, str]) -> None:
    """What commands in another terminal need to reach this platform (the embedded broker's password
    included, so only this user may read it)."""
    keys = ("CHAIN_RPC_URL", "CHAIN_RPC_URLS", "DATABASE_URL", "REDIS_URL", "CACHE_KEY_PREFIX")
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(
        "# Written by `make run` while it runs: commands in other terminals use the same node and stores.\n"
        + "".join(f"{key}={env[key]}\n" for key in keys if key in env)
    )


def main() -> int:
    die_with_parent(signal.SIGTERM)  # `make run` killed outright: we still stop our children
    env = dict(os.environ)
    env.setdefault("DJANGO_ENV", "development")
    var = Path(env.setdefault("VAR_DIR", str(ROOT / "var")))
    var.mkdir(parents=True, exist_ok=True)
    quiet_logging(env, var)
    run_env = var / "run.env"
    # Every process writes its metrics here; /metrics in any web worker serves the sum. A fresh
    # start begins from an empty directory (samples of dead processes would otherwise pile up).
    metrics_dir = Path(env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(var / "prometheus")))
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    children: list[Child] = []
    anvil: ManagedProcess | None = None
    chain_state = ChainState(var)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, request_stop)

    def spawn(name: str, argv: list[str], child_env: dict[str, str], **kwargs) -> Child:
        check_stop()
        return Child(
            name,
            lambda: ManagedProcess(name, argv, env=child_env, cwd=ROOT, tied_to_parent=True).start(),
            **kwargs,
        )

    try:
        if "CHAIN_RPC_URL" not in env and "CHAIN_RPC_URLS" not in env:  # else the operator's nodes
            if port_is_open("127.0.0.1", ANVIL_PORT):
                raise SystemExit(f"[run] port {ANVIL_PORT} is busy: stop that process or set CHAIN_RPC_URL")
            env["CHAIN_RPC_URL"] = f"http://127.0.0.1:{ANVIL_PORT}"
            argv = [
                str(anvil_binary(ROOT)),
                *("--host", "127.0.0.1", "--port", str(ANVIL_PORT), "--chain-id", "31337"),
                # No historical states on disk (anvil never deletes them from ~/.foundry).
                *("--max-persisted-states", "0"),
                # The chain survives restarts (deployments recorded in the DB stay valid): loaded from
                # the last complete state, dumped to a separate file on exit and every minute.
                *("--dump-state", str(chain_state.next), "--state-interval", "60"),
            ]
            state = chain_state.prepare()
            if state is not None:
                argv += ["--load-state", str(state)]
            anvil = ManagedProcess(
                "anvil", argv, cwd=ROOT, log_path=var / "log" / "anvil.log", tied_to_parent=True
            ).start()
            try:
                wait_until(
                    lambda: port_is_open("127.0.0.1", ANVIL_PORT), timeout=30, what="anvil", process=anvil
                )
            except (RuntimeError, TimeoutError) as exc:
                raise SystemExit(f"[run] the chain node did not start: {exc}") from None
            say(f"anvil on {env['CHAIN_RPC_URL']} (state in {chain_state.path}, log in {anvil.log_path})")

        if "REDIS_URL" in env:
            say("broker:   REDIS_URL")
        else:
            if port_is_open("127.0.0.1", REDIS_PORT):
                raise SystemExit(
                    f"[run] port {REDIS_PORT} is busy: stop that process, set RUN_REDIS_PORT or REDIS_URL"
                )
            try:
                redis = EmbeddedRedis(
                    data_dir=var / "redis",
                    port=REDIS_PORT,
                    password=secrets.token_urlsafe(24),
                    tied_to_parent=True,
                )
            except FileNotFoundError as exc:
                raise SystemExit(f"[run] {exc}") from None

            def start_redis() -> ManagedProcess:
                try:
                    return redis.start().process
                except (RuntimeError, TimeoutError) as exc:
                    raise SystemExit(f"[run] the embedded redis-server did not start: {exc}") from None

            children.append(Child("redis", start_redis))
            env["REDIS_URL"] = redis.url
            say(f"broker:   embedded redis-server on 127.0.0.1:{REDIS_PORT} (data in {var / 'redis'})")

        if "DATABASE_URL" in env:
            try:
                created = ensure_database(env["DATABASE_URL"])
            except DatabaseUnavailable as exc:
                raise SystemExit(f"[run] {exc}") from None
            say(created or "database: DATABASE_URL")
        else:
            say(f"database: embedded SQLite ({var}/db.sqlite3)")
        write_run_env(run_env, env)
        manage("migrate", "--noinput", "-v", "0", env=env)
        if has_command("deploy_contracts", env):
            manage("deploy_contracts", "--redeploy-if-reset", env=env)
        # A node restored from an older state (or reset) while the database kept newer blocks: the
        # indexer cannot follow until the database is resynced; the command says how.
        chain_warning = manage("chain_status", "--against-database", env=env, capture=True, check=False)
        if chain_warning:
            say(chain_warning.splitlines()[-1])
        manage("collectstatic", "--noinput", "-v", "0", env=env)
        logins = manage("seed_demo", env=env, capture=True)

        web_env = {
            **env,
            "GUNICORN_BIND": f"{HOST}:{PORT}",
            "WEB_CONCURRENCY": env.get("WEB_CONCURRENCY", "2"),
        }
        beat_argv = [PY, "-m", "celery", "-A", "config", "--quiet", "beat", "-l", "INFO", "--pidfile", ""]
        children.append(
            spawn(
                "web",
                [PY, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "config.wsgi:application"],
                web_env,
            )
        )
        children.append(spawn("worker", celery_worker_argv(concurrency=2, banner=False), env))
        children.append(spawn("beat", beat_argv, env))
        if has_command("poll_blockchain", env):
            children.append(spawn("poller", [PY, "manage.py", "poll_blockchain"], env))

        base = f"http://{HOST}:{PORT}"
        wait_until(
            lambda: health_status(f"{base}/healthz") is not None or _stop["requested"],
            timeout=120,
            interval=0.5,
            what=f"{base}/healthz to answer",
        )
        # The worker and the indexer need a moment after the web answers; a platform that stays
        # unhealthy (a reset chain, say) still starts, and says so.
        deadline = time.monotonic() + 60
        while health_status(f"{base}/healthz") != 200 and time.monotonic() < deadline:
            check_stop()
            time.sleep(0.5)
        check_stop()
        health = "healthy" if health_status(f"{base}/healthz") == 200 else "UNHEALTHY: see the warnings above"
        print(
            f"\n{logins.rstrip()}\n\n"
            f"  Logs       {var / 'log'}/ (the terminal shows warnings only)\n"
            f"  API        {base}/api/\n  Docs       {base}/api/docs/\n  Admin      {base}/admin/\n"
            f"  Dashboard  {base}/admin/dashboard/\n  Verify     {base}/verify/\n"
            f"  Health     {base}/healthz ({health})\n"
            + f"\n  Demo clock: `{MANAGE} advance_time --days 22` (chain and platform together)\n"
            + (f"\n  ! {chain_warning.splitlines()[-1]}\n" if chain_warning else "")
            + "\nCtrl-C stops everything.\n",
            flush=True,
        )
        while not _stop["requested"]:
            if anvil is not None and not anvil.running():
                say(f"anvil exited with code {anvil.popen.returncode}; its log ends:\n{anvil.log_tail(15)}")
                return 1
            for child in children:
                if child.process.running():
                    continue
                code = child.process.popen.returncode
                if child.restartable and child.restart():
                    attempt = f"{len(child.restarts)}/{MAX_RESTARTS}"
                    say(f"{child.name} exited with code {code}; restarted ({attempt})")
                else:
                    say(f"{child.name} exited with code {code} again and again; stopping the platform")
                    return 1
            time.sleep(0.5)
        return 0
    except StopRequested:
        return 0
    finally:
        names = [c.name for c in reversed(children)] + (["anvil"] if anvil else [])
        say("stopping " + ", ".join(names))
        for child in reversed(children):
            child.process.stop(timeout=20)
        if anvil is not None:
            # SIGTERM to the binary itself: it dumps the state and exits.
            anvil.stop(timeout=ANVIL_STOP_SECONDS)
            chain_state.save()
        run_env.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
