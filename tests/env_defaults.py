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
