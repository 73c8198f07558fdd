"""Settings, read from the environment (12-factor). See deploy/env.example for every variable."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from core.env_checks import (
    DEV_SECRET_KEY,
    EnvironmentFacts,
    environment_problems,
    rpc_url_problems,
    safe_confirmations,
    signer_pool_problems,
)
from core.log_format import logging_config
from core.redis import RETRY_OPTIONS as REDIS_RETRY_OPTIONS
from core.secrets import Secret
from core.sentry import init_sentry

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
# A command started in another terminal while `make run` runs uses that platform's node, database and
# broker (devtools/run_platform.py writes VAR_DIR/run.env and removes it at stop); variables already set
# win, and nothing but development reads it.
if DJANGO_ENV == "development" and (VAR_DIR / "run.env").is_file():
    environ.Env.read_env(VAR_DIR / "run.env")
DEBUG = env.bool("DEBUG", default=DJANGO_ENV == "development")
SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY)
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS",
    default=[] if DJANGO_ENV == "production" else ["localhost", "127.0.0.1", "[::1]", "testserver"],
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- chain -------------------------------------------------------------------------------------
ANVIL_CHAIN_ID = 31337
# anvil's well-known dev account 0: public knowledge, funds only exist on local dev chains.
ANVIL_DEV_PRIVATE_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

# Ordered RPC endpoints (blockchain/chain/client.py fails over between them); CHAIN_RPC_URL alone still
# works and is then the only one. Every endpoint must report CHAIN_ID.
_rpc_url, _rpc_urls = env.str("CHAIN_RPC_URL", default=""), env.list("CHAIN_RPC_URLS", default=[])
if _rpc_problems := rpc_url_problems(rpc_url=_rpc_url, rpc_urls=_rpc_urls):
    raise ImproperlyConfigured("Refusing to start: " + "; ".join(_rpc_problems))
CHAIN_RPC_URLS = _rpc_urls or [_rpc_url or "http://127.0.0.1:8545"]
CHAIN_RPC_URL = CHAIN_RPC_URLS[0]
# RPC failover (blockchain/chain/failover.py): an endpoint leaves service after this many consecutive
# transport failures, for a cooldown doubled per further failure up to the max; the probe that brings
# it back (eth_chainId) has its own short timeout.
CHAIN_RPC_FAILURE_THRESHOLD = env.int("CHAIN_RPC_FAILURE_THRESHOLD", default=1)
CHAIN_RPC_COOLDOWN_SECONDS = env.float("CHAIN_RPC_COOLDOWN_SECONDS", default=2.0)
CHAIN_RPC_MAX_COOLDOWN_SECONDS = env.float("CHAIN_RPC_MAX_COOLDOWN_SECONDS", default=60.0)
CHAIN_RPC_PROBE_TIMEOUT = env.float("CHAIN_RPC_PROBE_TIMEOUT", default=2.0)
CHAIN_ID = env.int("CHAIN_ID", default=ANVIL_CHAIN_ID)
CHAIN_POA = env.bool("CHAIN_POA", default=False)
# Platform amounts (Decimal) are integers on chain: amount × 10**CHAIN_AMOUNT_DECIMALS.
CHAIN_AMOUNT_DECIMALS = env.int("CHAIN_AMOUNT_DECIMALS", default=2)
# A safe depth per chain id unless set (core/env_checks.py SAFE_CONFIRMATIONS; deploy/README.md).
CHAIN_CONFIRMATIONS = env.int("CHAIN_CONFIRMATIONS", default=safe_confirmations(CHAIN_ID))
CHAIN_RPC_TIMEOUT = env.float("CHAIN_RPC_TIMEOUT", default=10.0)
CHAIN_POLL_SECONDS = env.float("CHAIN_POLL_SECONDS", default=2.0)
CHAIN_STUCK_SECONDS = env.int("CHAIN_STUCK_SECONDS", default=120)
CHAIN_MAX_FEE_GWEI = env.float("CHAIN_MAX_FEE_GWEI", default=500.0)
EXPLORER_TX_URL = env.str("EXPLORER_TX_URL", default="")  # e.g. https://polygonscan.com/tx/{tx_hash}
EXPLORER_ADDRESS_URL = env.str(
    "EXPLORER_ADDRESS_URL", default=""
)  # e.g. https://polygonscan.com/address/{address}
# The KYB document bundle's CID opens through this IPFS gateway in the admin.
IPFS_GATEWAY_URL = env.str("IPFS_GATEWAY_URL", default="https://ipfs.io/ipfs/{cid}")
CHAIN_CONFIRM_SECONDS = env.float("CHAIN_CONFIRM_SECONDS", default=2.0)  # confirmer beat interval
OUTBOX_BATCH_SIZE = env.int("OUTBOX_BATCH_SIZE", default=100)
OUTBOX_GAS_MULTIPLIER = env.float("OUTBOX_GAS_MULTIPLIER", default=1.2)
OUTBOX_REBROADCAST_SECONDS = env.int("OUTBOX_REBROADCAST_SECONDS", default=15)
OUTBOX_SWEEP_SECONDS = env.float("OUTBOX_SWEEP_SECONDS", default=10.0)
# Confirmed transactions are re-checked this many blocks deep, so a reorg past confirmation is seen.
OUTBOX_REORG_WATCH_BLOCKS = env.int("OUTBOX_REORG_WATCH_BLOCKS", default=max(2 * CHAIN_CONFIRMATIONS, 12))
# Indexer: eth_getLogs block range (adaptive between these), and the window re-checked for reorgs.
INDEXER_INITIAL_RANGE = env.int("INDEXER_INITIAL_RANGE", default=1000)
INDEXER_MAX_RANGE = env.int("INDEXER_MAX_RANGE", default=50_000)
INDEXER_FAST_SECONDS = env.float("INDEXER_FAST_SECONDS", default=1.0)
INDEXER_SLOW_SECONDS = env.float("INDEXER_SLOW_SECONDS", default=5.0)
INDEXER_REORG_WINDOW = env.int("INDEXER_REORG_WINDOW", default=max(2 * CHAIN_CONFIRMATIONS, 64))
# One indexer at a time: a short lock renewed by a heartbeat while its holder lives, so a killed
# poller is replaced within INDEXER_LOCK_TTL seconds; one run indexes for at most INDEXER_RUN_SECONDS.
INDEXER_LOCK_TTL = env.int("INDEXER_LOCK_TTL", default=15)
INDEXER_RUN_SECONDS = env.float("INDEXER_RUN_SECONDS", default=120.0)
HEALTH_MAX_INDEXER_LAG = env.int("HEALTH_MAX_INDEXER_LAG", default=100)
# Operational endpoints (core/ops_access.py): /healthz gives anonymous callers its status code only,
# details to an operator or to X-Health-Token; /metrics and the API docs are closed in production unless
# opened here (a scrape presents METRICS_TOKEN as a bearer token or comes from METRICS_ALLOWED_IPS).
HEALTH_TOKEN = Secret(env.str("HEALTH_TOKEN", default=""))
METRICS_TOKEN = Secret(env.str("METRICS_TOKEN", default=""))
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])
METRICS_PUBLIC = env.bool("METRICS_PUBLIC", default=DJANGO_ENV != "production")
API_DOCS_PUBLIC = env.bool("API_DOCS_PUBLIC", default=DJANGO_ENV != "production")
# Balances: the chain's native coin, ERC-20 tokens tracked ({"USDC": {"address": "0x…", "decimals": 6}}),
# how long a cached balance is fresh, and the signer balance below which health warns.
CHAIN_NATIVE_SYMBOL = env.str("CHAIN_NATIVE_SYMBOL", default="ETH")
CHAIN_TOKENS = env.json("CHAIN_TOKENS", default={})
BALANCE_TTL_SECONDS = env.int("BALANCE_TTL_SECONDS", default=30)
SIGNER_MIN_BALANCE = Decimal(env.str("SIGNER_MIN_BALANCE", default="0.5"))
CONTRACTS_BUILD_DIR = Path(env.str("CONTRACTS_BUILD_DIR", default=str(BASE_DIR / "contracts" / "build")))

SIGNER_KEYSTORE = env.str("SIGNER_KEYSTORE", default="")
SIGNER_PASSWORD_FILE = env.str("SIGNER_PASSWORD_FILE", default="")
SIGNER_PASSWORD = Secret(env.str("SIGNER_PASSWORD", default=""))
SIGNER_ALLOW_RAW_KEY = env.bool("SIGNER_ALLOW_RAW_KEY", default=DJANGO_ENV != "production")
_raw_key = env.str("SIGNER_PRIVATE_KEY", default="")
if not _raw_key and not SIGNER_KEYSTORE and DJANGO_ENV != "production" and CHAIN_ID == ANVIL_CHAIN_ID:
    _raw_key = ANVIL_DEV_PRIVATE_KEY
SIGNER_PRIVATE_KEY = Secret(_raw_key)
del _raw_key
# The signer pool (blockchain/outbox/lanes.py): more keys, each its own nonce lane. Keystores share
# SIGNER_PASSWORD(_FILE) unless SIGNER_POOL_PASSWORD_FILES gives one file per keystore; raw keys are
# for development and tests (refused in production like SIGNER_PRIVATE_KEY).
SIGNER_POOL_KEYSTORES = env.list("SIGNER_POOL_KEYSTORES", default=[])
SIGNER_POOL_PASSWORD_FILES = env.list("SIGNER_POOL_PASSWORD_FILES", default=[])
SIGNER_POOL_PRIVATE_KEYS = [Secret(key) for key in env.list("SIGNER_POOL_PRIVATE_KEYS", default=[])]

# --- start-up refusal ----------------------------------------------------------------------------
_problems = environment_problems(
    EnvironmentFacts(
        django_env=DJANGO_ENV,
        debug=DEBUG,
        secret_key=SECRET_KEY,
        allowed_hosts=tuple(ALLOWED_HOSTS),
        has_raw_private_key=bool(SIGNER_PRIVATE_KEY),
        allow_raw_private_key=SIGNER_ALLOW_RAW_KEY,
        has_keystore=bool(SIGNER_KEYSTORE),
        has_keystore_password=bool(SIGNER_PASSWORD_FILE or SIGNER_PASSWORD),
        chain_id=CHAIN_ID,
        chain_confirmations=CHAIN_CONFIRMATIONS,
    )
)
_problems += signer_pool_problems(
    django_env=DJANGO_ENV,
    pool_keystores=SIGNER_POOL_KEYSTORES,
    pool_password_files=SIGNER_POOL_PASSWORD_FILES,
    pool_private_keys=len(SIGNER_POOL_PRIVATE_KEYS),
    allow_raw_private_key=SIGNER_ALLOW_RAW_KEY,
    has_keystore_password=bool(SIGNER_PASSWORD_FILE or SIGNER_PASSWORD),
)
if _problems:
    raise ImproperlyConfigured("Refusing to start: " + "; ".join(_problems))

# --- apps ----------------------------------------------------------------------------------------
INSTALLED_APPS = [
    "accounts.apps.PlatformAdminConfig",  # django.contrib.admin, its site limits logins and can require OTP
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "core",
    "accounts",
    "blockchain",
    "contracts",
    "issuers",
    "campaigns",
    "credentials",
    "loans",
    "audit",
    "wallets",
    "compliance",
    "webhooks",
]
if DJANGO_ENV != "production":
    # Development and test tooling (the fault tests' crash points); production never loads it.
    INSTALLED_APPS.append("devtools")

MIDDLEWARE = [
    "core.request_context.RequestIdMiddleware",
    "core.middleware.RequestBodyLimitMiddleware",
    "core.metrics.HttpMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "core.middleware.RefuseNulQueryMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "audit.services.AuditMiddleware",
    # After authentication (it scopes keys per user); the view and its stored response share one
    # transaction inside it (core/idempotency.py).
    "core.idempotency.IdempotencyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- data stores ---------------------------------------------------------------------------------
# Unset DATABASE_URL falls back to an embedded SQLite file, unset REDIS_URL to a redis-server that
# `make run` starts under VAR_DIR (devtools/processes.EmbeddedRedis); tests and production set both.
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {"timeout": 30, "transaction_mode": "IMMEDIATE"}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend with a health check that costs no round trip on a healthy connection.
    DATABASES["default"]["ENGINE"] = "core.postgresql"
    if env.bool("DB_PREPARED_STATEMENTS", default=True):
        # The statements run through core.rows.prepared_cursor (the hot reads, the idempotency
        # claim) are prepared at their first run on a connection; the ORM's client-side-binding
        # cursors never prepare. Off (None): behind a pooler that cannot keep prepared statements.
        DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 0

REDIS_URL = env.str("REDIS_URL", default="")
# The test suite's fault scenarios run their own workers on a second database of the same Redis.
TEST_ISOLATED_REDIS_DB = env.int("TEST_ISOLATED_REDIS_DB", default=12)
USES_REDIS = bool(REDIS_URL)

if USES_REDIS:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="lb"),
            "OPTIONS": dict(REDIS_RETRY_OPTIONS),  # bounded retries, as core.redis's clients
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
LOCK_DIR = VAR_DIR / "locks"  # used for task locks only when Redis is not configured

# --- webhooks (webhooks/) ---------------------------------------------------------------------
# Development and tests deliver to http and private addresses (a local receiver); production only to
# https on public addresses, checked again at every delivery (webhooks/targets.py).
WEBHOOK_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", default=DJANGO_ENV != "production")
# An event announced outside a DB transaction is an error outside production (a warning in it).
WEBHOOK_REQUIRE_TRANSACTION = env.bool("WEBHOOK_REQUIRE_TRANSACTION", default=DJANGO_ENV != "production")
# Endpoint secrets are encrypted at rest under a key derived from this (default: SECRET_KEY).
WEBHOOK_SECRETS_KEY = env.str("WEBHOOK_SECRETS_KEY", default="")
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
WEBHOOK_RETRY_HOURS = env.float("WEBHOOK_RETRY_HOURS", default=24.0)
WEBHOOK_BACKOFF_BASE_SECONDS = env.float("WEBHOOK_BACKOFF_BASE_SECONDS", default=5.0)
WEBHOOK_BACKOFF_MAX_SECONDS = env.float("WEBHOOK_BACKOFF_MAX_SECONDS", default=3 * 3600.0)
# A claimed delivery's lease: after it, a worker that died mid-attempt is replaced by the sweep.
WEBHOOK_LEASE_SECONDS = env.int("WEBHOOK_LEASE_SECONDS", default=300)
WEBHOOK_CLAIM_BATCH = env.int("WEBHOOK_CLAIM_BATCH", default=200)
WEBHOOK_SEND_THREADS = env.int("WEBHOOK_SEND_THREADS", default=16)
WEBHOOK_SWEEP_SECONDS = env.float("WEBHOOK_SWEEP_SECONDS", default=5.0)
WEBHOOK_SWEEP_ROUNDS = env.int("WEBHOOK_SWEEP_ROUNDS", default=10)
# An endpoint failing this many attempts in a row, for at least this long, is disabled (and alerted).
WEBHOOK_DISABLE_AFTER_FAILURES = env.int("WEBHOOK_DISABLE_AFTER_FAILURES", default=10)
WEBHOOK_DISABLE_AFTER_HOURS = env.float("WEBHOOK_DISABLE_AFTER_HOURS", default=24.0)
from core.env_checks import webhook_problems  # noqa: E402  (kept with the setting it checks)

if _webhook_problems := webhook_problems(
    django_env=DJANGO_ENV, allow_private_targets=WEBHOOK_ALLOW_PRIVATE_TARGETS
):
    raise ImproperlyConfigured("; ".join(_webhook_problems))
# Settled events (every delivery succeeded or dead) are kept this long in the delivery log.
WEBHOOK_RETENTION_DAYS = env.float("WEBHOOK_RETENTION_DAYS", default=30.0)
# How long a process may use its list of listening endpoints before reading it again.
WEBHOOK_ENDPOINT_CACHE_SECONDS = env.float("WEBHOOK_ENDPOINT_CACHE_SECONDS", default=2.0)

# --- Celery ----------------------------------------------------------------------------------------
if USES_REDIS:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 3600,
        # Publishing (an on-commit kick) must fail fast when Redis is down: the outbox row is already
        # committed and the beat sweep re-kicks it, so a request never waits on the broker.
        "max_retries": 1,
        "interval_start": 0,
        "interval_step": 0.2,
        "interval_max": 0.5,
        "socket_connect_timeout": 2,
    }
else:
    # No broker configured: a command run on its own (no `make run`, no worker) publishes into this
    # process's memory. Nothing is lost by it: every chain write is an outbox row in the database, and
    # the outbox sweep of a running platform sends it. `make run` always sets REDIS_URL (its own
    # embedded redis-server when none is given), so the platform itself never runs on this.
    CELERY_BROKER_URL = "memory://"
    CELERY_RESULT_BACKEND = "cache+memory://"
CELERY_TIMEZONE = "UTC"
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = (Queue("default"), Queue("chain-send"), Queue("chain-index"))
CELERY_TASK_ROUTES = {
    "blockchain.outbox.tasks.send_*": {"queue": "chain-send"},
    "blockchain.outbox.tasks.confirm_*": {"queue": "chain-send"},
    "blockchain.indexing.tasks.index_*": {"queue": "chain-index"},
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = False
# Issuance rules: the total of a company's campaign goals within 12 months.
ISSUER_ANNUAL_CAP = Decimal(env.str("ISSUER_ANNUAL_CAP", default="5000000"))
# The minimum campaign run and early-close floor, in days (Regulation Crowdfunding: 21). Development may
# shorten it for a demo (or move the clock: `manage.py advance_time`); production refuses less than 21.
CAMPAIGN_MIN_RUN_DAYS = env.int("CAMPAIGN_MIN_RUN_DAYS", default=21)
from core.env_checks import campaign_rule_problems  # noqa: E402  (kept with the setting it checks)

if _run_problems := campaign_rule_problems(django_env=DJANGO_ENV, min_run_days=CAMPAIGN_MIN_RUN_DAYS):
    raise ImproperlyConfigured("Refusing to start: " + "; ".join(_run_problems))
# Credential types institutions may issue (extend by listing more).
CREDENTIAL_TYPES = env.list("CREDENTIAL_TYPES", default=["kyc", "kyb", "accreditation", "diploma"])
# How long a verification answered by the chain is cached (seconds).
CREDENTIAL_CHAIN_CACHE_SECONDS = env.int("CREDENTIAL_CHAIN_CACHE_SECONDS", default=60)
# AML screening of investments (the lists are kept in the admin).
AML_LARGE_AMOUNT = Decimal(env.str("AML_LARGE_AMOUNT", default="10000"))
AML_VELOCITY_MAX_COUNT = env.int("AML_VELOCITY_MAX_COUNT", default=5)  # investments per investor per 24 h
AML_VELOCITY_MAX_TOTAL = Decimal(env.str("AML_VELOCITY_MAX_TOTAL", default="25000"))  # per investor per 24 h
AML_STRUCTURING_COUNT = env.int(
    "AML_STRUCTURING_COUNT", default=3
)  # amounts just below the threshold in 7 days
AML_STRUCTURING_BAND = Decimal(env.str("AML_STRUCTURING_BAND", default="0.10"))  # "just below": within 10 %
# Certificates are minted in as few mintBatch transactions as the block gas limit allows.
CHAIN_BLOCK_GAS_LIMIT = env.int("CHAIN_BLOCK_GAS_LIMIT", default=30_000_000)
CERTIFICATE_MINT_GAS = env.int("CERTIFICATE_MINT_GAS", default=130_000)  # per certificate (make bench)
# Investors may cancel until this long before the campaign ends.
INVESTMENT_CANCEL_CUTOFF_HOURS = env.int("INVESTMENT_CANCEL_CUTOFF_HOURS", default=48)
LOAN_VERIFY_SAMPLE = env.int("LOAN_VERIFY_SAMPLE", default=100)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE: dict = {
    "confirm-outbox": {"task": "blockchain.outbox.tasks.confirm_outbox", "schedule": CHAIN_CONFIRM_SECONDS},
    "sweep-outbox": {"task": "blockchain.outbox.tasks.sweep_outbox", "schedule": OUTBOX_SWEEP_SECONDS},
    "reconcile-nonces": {"task": "blockchain.outbox.tasks.reconcile_nonces", "schedule": 600.0},
    "index-chain-events": {
        "task": "blockchain.indexing.tasks.index_chain_events",
        "schedule": CHAIN_POLL_SECONDS,
    },
    "reconcile-chain": {"task": "blockchain.indexing.tasks.reconcile_chain", "schedule": 3600.0},
    "refresh-stale-balances": {"task": "wallets.tasks.refresh_stale_balances", "schedule": 300.0},
    "close-ended-campaigns": {"task": "campaigns.tasks.close_ended_campaigns", "schedule": 60.0},
    "verify-loans-weekly": {
        "task": "loans.tasks.verify_loan_sample",
        "schedule": crontab(minute=30, hour=3, day_of_week="mon"),
        "kwargs": {"sample": LOAN_VERIFY_SAMPLE},
    },
    "flush-expired-tokens": {
        "task": "accounts.tasks.flush_expired_tokens",
        "schedule": crontab(minute=15, hour=4),
    },
    "purge-idempotency-records": {
        "task": "core.tasks.purge_idempotency_records",
        "schedule": crontab(minute=45),
    },
    "sweep-webhooks": {"task": "webhooks.tasks.sweep_webhooks", "schedule": WEBHOOK_SWEEP_SECONDS},
    "purge-settled-webhooks": {
        "task": "webhooks.tasks.purge_settled_webhooks",
        "schedule": crontab(minute=50, hour=4),
    },
}
# How long an Idempotency-Key's stored response is replayed (core/idempotency.py).
IDEMPOTENCY_TTL_HOURS = env.int("IDEMPOTENCY_TTL_HOURS", default=24)

# --- API -------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "core.api.StandardPagination",
    "PAGE_SIZE": 50,
    # Unknown query parameters are a 400 naming the accepted ones (core/query_params.py), then filters.
    "DEFAULT_FILTER_BACKENDS": [
        "core.query_params.KnownQueryParameters",
        "django_filters.rest_framework.DjangoFilterBackend",
    ],
    "DEFAULT_SCHEMA_CLASS": "core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["core.throttling.UserWriteThrottle"],
    # Every body's strings are checked for NUL (PostgreSQL stores none), whatever its content type.
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.JSONParser",
        "core.parsers.FormParser",
        "core.parsers.MultiPartParser",
    ],
    # DRF's JSON, encoded by orjson (core/renderers.py).
    "DEFAULT_RENDERER_CLASSES": ["core.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "COERCE_DECIMAL_TO_STRING": True,
    "DATETIME_FORMAT": "iso-8601",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

# Rate limits (core/throttling.py); THROTTLE_RATES (JSON) overrides single scopes, null turns one off.
# Development (`make run`, scripted demos logging in every role many times) gets roomier login and
# sign-up limits; production and test keep the strict ones.
_DEV_RATES = DJANGO_ENV == "development"
THROTTLE_RATES = {
    "login": "300/min" if _DEV_RATES else "10/min",
    "login_account": "1000/hour" if _DEV_RATES else "30/hour",
    "register": "300/hour" if _DEV_RATES else "5/hour",
    "verify_anon": "120/min",
    "writes": "120/min",
    **env.json("THROTTLE_RATES", default={}),
}
THROTTLE_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", default="lb") + ":throttle"
# Trusted reverse proxies in front of Django (nginx: 1). 0 means REMOTE_ADDR is the client.
NUM_PROXIES = env.int("NUM_PROXIES", default=0)

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=1)),
    # A refresh answers a new refresh token and blacklists the one used; accounts.tokens adds the
    # user's token generation, which a password change or deactivation moves on (accounts.services).
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "TOKEN_OBTAIN_SERIALIZER": "accounts.serializers.TokenObtainPairSerializer",
    "TOKEN_REFRESH_SERIALIZER": "accounts.serializers.TokenRefreshSerializer",
    "UPDATE_LAST_LOGIN": True,
    "AUTH_HEADER_TYPES": ("Bearer",),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "LedgerBridge API",
    "DESCRIPTION": "Security-token issuance, verifiable credentials and loan anchoring, "
    "with a PostgreSQL ledger kept in agreement with an EVM chain.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "UserRoleEnum": "accounts.models.Role",
        "SelfServiceRoleEnum": ["investor", "issuer"],
        "InvestmentStatusEnum": "campaigns.selectors.SHOWN_INVESTMENT_STATUSES",  # stored + `cancelling`
        "RejectionReasonEnum": "campaigns.models.RejectionReason",
        "WebhookDeliveryStatusEnum": "webhooks.models.DeliveryStatus",
    },
}

# Sign-In with Ethereum (EIP-4361) wallet binding.
SIWE_DOMAIN = env.str("SIWE_DOMAIN", default="localhost:8000")
SIWE_URI = env.str("SIWE_URI", default=f"http://{SIWE_DOMAIN}")
# ShareCertificate's tokenURI is this + token id + "/metadata.json" (set at deployment; the admin can
# move it on chain with setMetadataBase). Public: wallets and marketplaces fetch it.
CERTIFICATE_METADATA_BASE_URL = env.str(
    "CERTIFICATE_METADATA_BASE_URL", default=f"{SIWE_URI.rstrip('/')}/api/certificates/"
)
SIWE_STATEMENT = "Bind this wallet to your LedgerBridge account."
SIWE_TTL_SECONDS = env.int("SIWE_TTL_SECONDS", default=600)

# --- auth, i18n, static ------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Staff sign in to the admin with a one-time password after the password (django-otp: TOTP apps, or
# static recovery tokens from `manage.py addstatictoken <username>`); on by default in production.
ADMIN_REQUIRE_OTP = env.bool("ADMIN_REQUIRE_OTP", default=DJANGO_ENV == "production")
OTP_TOTP_ISSUER = "LedgerBridge"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or DJANGO_ENV == "test"
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Request bodies: anything larger is refused (413) before Django reads it (core.middleware), whether
# or not nginx fronts the app; the public verifier takes credential documents up to VERIFY_MAX_DOCUMENT_BYTES.
MAX_REQUEST_BODY_BYTES = env.int("MAX_REQUEST_BODY_BYTES", default=5 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = env.int("FILE_UPLOAD_MAX_MEMORY_SIZE", default=256 * 1024)
VERIFY_MAX_DOCUMENT_BYTES = env.int("VERIFY_MAX_DOCUMENT_BYTES", default=256 * 1024)

# --- production hardening (behind nginx, TLS terminated there) -------------------------------------
if DJANGO_ENV == "production":
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
    X_FRAME_OPTIONS = "DENY"
    USE_X_FORWARDED_HOST = True

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# JSON lines for machines (production, CI); a plain format only for a developer's terminal.
LOG_JSON = env.bool("LOG_JSON", default=DJANGO_ENV != "development")
LOG_FILE = env.str("LOG_FILE", default="")
# The terminal can be quieter than LOG_FILE (`make run` shows warnings only and keeps the rest on disk).
LOG_CONSOLE_LEVEL = env.str("LOG_CONSOLE_LEVEL", default=LOG_LEVEL)
# Optional error reporting (core/sentry.py): off without a DSN; events pass the same secret redaction
# as the logs.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
init_sentry(dsn=SENTRY_DSN, environment=env.str("SENTRY_ENVIRONMENT", default=DJANGO_ENV))
LOGGING = logging_config(
    level=LOG_LEVEL, json_lines=LOG_JSON, log_file=LOG_FILE, console_level=LOG_CONSOLE_LEVEL
)
# `make run` keeps clients' 4xx answers (django.request "Conflict", "Not Found", ...) off the terminal;
# LOG_FILE still has them.
LOG_CONSOLE_CLIENT_ERRORS = env.bool("LOG_CONSOLE_CLIENT_ERRORS", default=True)
if not LOG_CONSOLE_CLIENT_ERRORS:
    LOGGING["filters"]["drop_client_errors"] = {"()": "core.log_filters.DropClientErrors"}
    LOGGING["handlers"]["console"]["filters"] = [
        *LOGGING["handlers"]["console"].get("filters", []),
        "drop_client_errors",
    ]
