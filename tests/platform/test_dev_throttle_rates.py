"""Login and sign-up limits: roomy in development (a scripted demo logs every role in many times a
minute from one address), strict in production; THROTTLE_RATES still overrides either."""

from __future__ import annotations

import json
import os

from tests.support.processes import manage

SHOW = (
    "import json; from django.conf import settings as s; "
    "print(json.dumps({k: s.THROTTLE_RATES[k] for k in ('login', 'login_account', 'register')}))"
)


def rates(tmp_path, **env_overrides: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_ENV", "THROTTLE_RATES"))}
    env.update(VAR_DIR=str(tmp_path), **env_overrides)
    result = manage("shell", "-c", SHOW, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_development_allows_a_scripted_demo_to_log_in_many_times(tmp_path):
    development = rates(tmp_path, DJANGO_ENV="development")
    assert development == {"login": "300/min", "login_account": "1000/hour", "register": "300/hour"}
    overridden = rates(tmp_path, DJANGO_ENV="development", THROTTLE_RATES='{"login": "20/min"}')
    assert overridden["login"] == "20/min"


def test_outside_development_the_strict_limits_stay(tmp_path):
    """Production shares these defaults with every environment but development."""
    assert rates(tmp_path, DJANGO_ENV="test") == {
        "login": "10/min",
        "login_account": "30/hour",
        "register": "5/hour",
    }
