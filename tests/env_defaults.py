"""pytest plugin loaded with `-p tests.env_defaults`, before Django reads its settings.

Tests run against real PostgreSQL, Redis and anvil on loopback; each default can be overridden
from the environment (CI and developers with other ports).
"""

import os

os.environ.setdefault("DJANGO_ENV", "test")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ledgerbridge")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
# Not 8545: a developer's `make run` anvil may be there. The session fixture starts this node.
os.environ.setdefault("CHAIN_RPC_URL", "http://127.0.0.1:18545")
os.environ.setdefault("CHAIN_ID", "31337")
os.environ.setdefault("CHAIN_CONFIRMATIONS", "0")
os.environ.setdefault("CACHE_KEY_PREFIX", "lbtest")
# Each test's endpoints roll back with it: no process may remember another test's listeners.
os.environ.setdefault("WEBHOOK_ENDPOINT_CACHE_SECONDS", "0")
# Rate limits stay on (the code path is exercised) but far above what one test makes; the throttle
# tests lower them with override_settings.
os.environ.setdefault(
    "THROTTLE_RATES",
    '{"login": "1000/min", "login_account": "1000/min", "register": "1000/min", "verify_anon": "1000/min",'
    ' "writes": "1000/min"}',
)
# Every process of the run (this one, Celery workers, gunicorn) appends JSON lines here; the log
# secret test reads it at the end of the session.
os.environ.setdefault(
    "LOG_FILE",
    os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "var", "test-logs", "platform.log"
    ),
)
os.makedirs(os.path.dirname(os.environ["LOG_FILE"]), exist_ok=True)
