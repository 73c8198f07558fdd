"""Start-up validation of the environment: what production refuses to run with."""

from __future__ import annotations

from dataclasses import dataclass

# The only secret key the repository ships; any environment that is not development or test
# must replace it.
DEV_SECRET_KEY = "dev-insecure-secret-key-change-me-0123456789-abcdefghijklmnopqrstuvwxyz"  # noqa: S105

ENVIRONMENTS = ("development", "test", "production")

# Regulation Crowdfunding keeps an offering open at least 21 days (17 CFR 227.304(a)); production never
# runs with less, development may shorten it for a demo (CAMPAIGN_MIN_RUN_DAYS).
REG_CF_MIN_RUN_DAYS = 21


@dataclass(frozen=True)
class EnvironmentFacts:
    django_env: str
    debug: bool
    secret_key: str
    allowed_hosts: tuple[str, ...]
    has_raw_private_key: bool
    allow_raw_private_key: bool
    has_keystore: bool
    has_keystore_password: bool
    chain_id: int
    chain_confirmations: int


def environment_problems(facts: EnvironmentFacts) -> list[str]:
    """Return every reason the given environment must not start (empty list = fine)."""
    problems: list[str] = []
    if facts.django_env not in ENVIRONMENTS:
        problems.append(f"DJANGO_ENV must be one of {', '.join(ENVIRONMENTS)}, not {facts.django_env!r}")
    if facts.chain_id <= 0:
        problems.append("CHAIN_ID must be a positive integer")
    if facts.chain_confirmations < 0:
        problems.append("CHAIN_CONFIRMATIONS must not be negative")
    if facts.has_keystore and not facts.has_keystore_password:
        problems.append("SIGNER_KEYSTORE is set but neither SIGNER_PASSWORD_FILE nor SIGNER_PASSWORD is")
    if facts.has_keystore and facts.has_raw_private_key:
        problems.append("set either SIGNER_KEYSTORE or SIGNER_PRIVATE_KEY, not both")
    if facts.django_env != "production":
        return problems
    if facts.debug:
        problems.append("DEBUG must be off in production")
    if not facts.secret_key or facts.secret_key == DEV_SECRET_KEY or len(facts.secret_key) < 50:
        problems.append("SECRET_KEY must be set to a unique value of at least 50 characters in production")
    if not facts.allowed_hosts or "*" in facts.allowed_hosts:
        problems.append("ALLOWED_HOSTS must list the served host names in production (no '*')")
    if facts.has_raw_private_key and not facts.allow_raw_private_key:
        problems.append(
            "SIGNER_PRIVATE_KEY is refused in production; use SIGNER_KEYSTORE with "
            "SIGNER_PASSWORD_FILE (or set SIGNER_ALLOW_RAW_KEY=true to accept the risk explicitly)"
        )
    return problems


def signer_pool_problems(
    *,
    django_env: str,
    pool_keystores: list[str] | tuple[str, ...],
    pool_password_files: list[str] | tuple[str, ...],
    pool_private_keys: int,
    allow_raw_private_key: bool,
    has_keystore_password: bool,
) -> list[str]:
    """What is wrong with the signer pool settings (empty list = fine): pool keystores need a
    password (the primary's, or one file per keystore), and raw pool keys are refused in production
    like SIGNER_PRIVATE_KEY unless SIGNER_ALLOW_RAW_KEY accepts the risk explicitly."""
    problems: list[str] = []
    if pool_password_files and len(pool_password_files) != len(pool_keystores):
        problems.append(
            "SIGNER_POOL_PASSWORD_FILES must name one password file per SIGNER_POOL_KEYSTORES entry "
            f"({len(pool_password_files)} for {len(pool_keystores)})"
        )
    if pool_keystores and not pool_password_files and not has_keystore_password:
        problems.append(
            "SIGNER_POOL_KEYSTORES is set but neither SIGNER_POOL_PASSWORD_FILES nor the primary's "
            "SIGNER_PASSWORD_FILE / SIGNER_PASSWORD is"
        )
    if django_env == "production" and pool_private_keys and not allow_raw_private_key:
        problems.append(
            "SIGNER_POOL_PRIVATE_KEYS is refused in production; use SIGNER_POOL_KEYSTORES with a "
            "password file (or set SIGNER_ALLOW_RAW_KEY=true to accept the risk explicitly)"
        )
    return problems


def campaign_rule_problems(*, django_env: str, min_run_days: int) -> list[str]:
    """What is wrong with CAMPAIGN_MIN_RUN_DAYS, the minimum campaign run and early-close floor
    (empty list = fine): at least one day anywhere (the database refuses shorter runs), at least
    Regulation Crowdfunding's 21 days in production."""
    if min_run_days < 1:
        return [f"CAMPAIGN_MIN_RUN_DAYS must be at least 1, not {min_run_days}"]
    if django_env == "production" and min_run_days < REG_CF_MIN_RUN_DAYS:
        return [
            f"CAMPAIGN_MIN_RUN_DAYS must be at least {REG_CF_MIN_RUN_DAYS} in production "
            f"(Regulation Crowdfunding's minimum offering period), not {min_run_days}"
        ]
    return []


def webhook_problems(*, django_env: str, allow_private_targets: bool) -> list[str]:
    """Production delivers webhooks only to public https addresses (the SSRF guard)."""
    if django_env == "production" and allow_private_targets:
        return [
            "WEBHOOK_ALLOW_PRIVATE_TARGETS must be off in production: webhook deliveries to private, "
            "loopback or metadata addresses are how SSRF reaches internal services"
        ]
    return []


def rpc_url_problems(*, rpc_url: str | None, rpc_urls: list[str] | None) -> list[str]:
    """CHAIN_RPC_URLS wins over CHAIN_RPC_URL; both set and disagreeing means a process (a test, a
    second worker, an operator's shell that exported one of them) would talk to another node than
    the one it names. No URL in the message: they may carry API keys."""
    if rpc_url and rpc_urls and rpc_url.rstrip("/") not in {u.rstrip("/") for u in rpc_urls}:
        return [
            "CHAIN_RPC_URL is set and is not one of CHAIN_RPC_URLS, which would be used instead: "
            "set only CHAIN_RPC_URLS (its first entry is the primary), or include CHAIN_RPC_URL in it"
        ]
    return []


# Blocks after which a receipt counts as confirmed, per chain id, when CHAIN_CONFIRMATIONS is not set
# (deploy/README.md has the table and the reasoning). Ethereum and its testnets: two epochs (64 blocks),
# the finality gadget's horizon; Polygon PoS: 128, deeper than any reorg it has had since its
# milestones; OP-stack and Arbitrum L2s: 20 blocks of their sequencer's chain (the batch reaching L1
# is what makes them final; raise it for large amounts); a local dev chain: 0.
SAFE_CONFIRMATIONS: dict[int, int] = {
    1: 64,  # Ethereum
    11155111: 64,  # Sepolia
    17000: 64,  # Holesky
    137: 128,  # Polygon PoS
    80002: 128,  # Polygon Amoy
    10: 20,  # OP Mainnet
    8453: 20,  # Base
    42161: 20,  # Arbitrum One
    31337: 0,  # anvil / hardhat (development)
}
UNKNOWN_CHAIN_CONFIRMATIONS = 64


def safe_confirmations(chain_id: int) -> int:
    """The default confirmation depth of `chain_id` (64 for a chain this table does not know)."""
    return SAFE_CONFIRMATIONS.get(chain_id, UNKNOWN_CHAIN_CONFIRMATIONS)
