"""Production refuses unsafe settings; `check --deploy` is clean for a correct production environment."""

import os
import subprocess

import pytest

from core.env_checks import DEV_SECRET_KEY, EnvironmentFacts, environment_problems, rpc_url_problems
from core.secrets import Secret
from tests.support.processes import manage

GOOD_SECRET = "p" * 20 + "-unique-production-secret-value-" + "q" * 20


def facts(**overrides) -> EnvironmentFacts:
    base = dict(
        django_env="production",
        debug=False,
        secret_key=GOOD_SECRET,
        allowed_hosts=("ledger.example.com",),
        has_raw_private_key=False,
        allow_raw_private_key=False,
        has_keystore=True,
        has_keystore_password=True,
        chain_id=137,
        chain_confirmations=12,
    )
    base.update(overrides)
    return EnvironmentFacts(**base)


def test_a_correct_production_environment_has_no_problems():
    assert environment_problems(facts()) == []


@pytest.mark.parametrize(
    "overrides, fragment",
    [
        ({"debug": True}, "DEBUG"),
        ({"secret_key": DEV_SECRET_KEY}, "SECRET_KEY"),
        ({"secret_key": "short"}, "SECRET_KEY"),
        ({"allowed_hosts": ()}, "ALLOWED_HOSTS"),
        ({"allowed_hosts": ("*",)}, "ALLOWED_HOSTS"),
        ({"has_keystore": False, "has_raw_private_key": True}, "SIGNER_PRIVATE_KEY"),
        ({"has_keystore_password": False}, "SIGNER_PASSWORD"),
        ({"django_env": "staging"}, "DJANGO_ENV"),
        ({"chain_id": 0}, "CHAIN_ID"),
        ({"chain_confirmations": -1}, "CHAIN_CONFIRMATIONS"),
    ],
)
def test_each_unsafe_setting_is_named(overrides, fragment):
    problems = environment_problems(facts(**overrides))
    assert any(fragment in p for p in problems), problems


def test_raw_key_in_production_only_when_explicitly_allowed():
    allowed = facts(has_keystore=False, has_raw_private_key=True, allow_raw_private_key=True)
    assert environment_problems(allowed) == []


def test_development_tolerates_debug_and_the_dev_secret():
    dev = facts(
        django_env="development", debug=True, secret_key=DEV_SECRET_KEY, allowed_hosts=(), has_keystore=False
    )
    assert environment_problems(dev) == []


def _manage(args: list[str], **env_overrides: str) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SIGNER_", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"))
    }
    env.update(env_overrides)
    return manage(*args, env=env)


@pytest.fixture
def production_env(tmp_path):
    from eth_account import Account

    password_file = tmp_path / "signer.pass"
    password_file.write_text("keystore-password\n")
    keystore = tmp_path / "signer.json"
    keystore.write_text(
        __import__("json").dumps(
            Account.encrypt(Account.create().key, "keystore-password", kdf="pbkdf2", iterations=2)
        )
    )
    return {
        "DJANGO_ENV": "production",
        "SECRET_KEY": GOOD_SECRET,
        "ALLOWED_HOSTS": "ledger.example.com",
        "SIGNER_KEYSTORE": str(keystore),
        "SIGNER_PASSWORD_FILE": str(password_file),
        "CHAIN_ID": "137",
    }


def test_check_deploy_is_clean_in_production(production_env):
    result = _manage(["check", "--deploy", "--fail-level", "WARNING"], **production_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_closes_metrics_and_docs_and_opens_them_only_when_asked(production_env):
    show = "from django.conf import settings as s; print(s.METRICS_PUBLIC, s.API_DOCS_PUBLIC)"
    closed = _manage(["shell", "-c", show], **production_env)
    assert closed.stdout.strip().splitlines()[-1].split() == ["False", "False"], closed.stderr
    opened = _manage(["shell", "-c", show], **production_env, METRICS_PUBLIC="true", API_DOCS_PUBLIC="true")
    assert opened.stdout.strip().splitlines()[-1].split() == ["True", "True"], opened.stderr


@pytest.mark.parametrize(
    "override, fragment",
    [
        ({"DEBUG": "true"}, "DEBUG must be off"),
        ({"SECRET_KEY": DEV_SECRET_KEY}, "SECRET_KEY"),
        ({"SIGNER_KEYSTORE": "", "SIGNER_PRIVATE_KEY": "0x" + "11" * 32}, "SIGNER_PRIVATE_KEY is refused"),
    ],
)
def test_production_refuses_to_start(production_env, override, fragment):
    result = _manage(["check"], **{**production_env, **override})
    assert result.returncode != 0
    assert "Refusing to start" in result.stderr and fragment in result.stderr
    assert "11" * 32 not in result.stderr + result.stdout  # the key itself is never echoed


def test_secret_wrapper_never_shows_its_value():
    secret = Secret("0x" + "ab" * 32)
    assert "ab" * 32 not in repr(secret) and "ab" * 32 not in str(secret) and "ab" * 32 not in f"{secret}"
    assert secret.reveal() == "0x" + "ab" * 32
    with pytest.raises(TypeError):
        __import__("pickle").dumps(secret)


def test_production_refuses_webhooks_to_private_targets():
    from core.env_checks import webhook_problems

    assert webhook_problems(django_env="production", allow_private_targets=True)
    assert webhook_problems(django_env="production", allow_private_targets=False) == []
    assert webhook_problems(django_env="development", allow_private_targets=True) == []


@pytest.mark.parametrize(
    "rpc_url, rpc_urls, refused",
    [
        ("http://a:1", None, False),  # CHAIN_RPC_URL alone
        (None, ["http://a:1", "http://b:2"], False),  # CHAIN_RPC_URLS alone
        ("http://a:1/", ["http://b:2", "http://a:1"], False),  # one of the list (a backup, say)
        ("http://c:3", ["http://a:1", "http://b:2"], True),  # another node than the one it names
    ],
)
def test_chain_rpc_url_must_be_one_of_chain_rpc_urls_when_both_are_set(rpc_url, rpc_urls, refused):
    assert bool(rpc_url_problems(rpc_url=rpc_url, rpc_urls=rpc_urls)) is refused


def test_a_chain_rpc_url_outside_chain_rpc_urls_refuses_to_start_without_echoing_either():
    primary = "https://rpc.example/v3/secret-api-key-1"
    other = "https://other.example/v3/secret-api-key-2"
    result = _manage(["check"], CHAIN_RPC_URL=other, CHAIN_RPC_URLS=primary)
    assert result.returncode != 0
    assert "Refusing to start" in result.stderr and "CHAIN_RPC_URL is set and is not one of" in result.stderr
    assert "secret-api-key" not in result.stderr + result.stdout
