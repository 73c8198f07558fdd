"""Running the project's own commands in a child process, as an operator would."""

from __future__ import annotations

import subprocess  # nosec B404 - our own interpreter and manage.py, fixed argv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """`python manage.py ARGS` in the repository with ENV (the whole environment), its output captured
    as text; two minutes at most."""
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
