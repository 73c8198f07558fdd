"""Loads the platform's signing accounts. The keys never leave this module's return values.

The primary signer (deploys the suite, holds the admin role): an encrypted eth-account keystore
(SIGNER_KEYSTORE) with its password from SIGNER_PASSWORD_FILE or SIGNER_PASSWORD; else a raw key
(SIGNER_PRIVATE_KEY), which settings only accept outside production unless SIGNER_ALLOW_RAW_KEY is
set explicitly.

The pool (several signers, each its own nonce lane): the primary, then SIGNER_POOL_KEYSTORES
(keystore paths; each shares the primary's password unless SIGNER_POOL_PASSWORD_FILES names one per
keystore, in the same order), then SIGNER_POOL_PRIVATE_KEYS (development and tests; refused in
production like SIGNER_PRIVATE_KEY). Which pool signers take new intents is the outbox's business
(blockchain.outbox.lanes); this module only knows the keys.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from django.conf import settings
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from core.log_format import register_secret


class SignerConfigurationError(Exception):
    """Raised with a message that never contains key material."""


def load_signer_account(
    *,
    keystore_path: str | None = None,
    password: str | None = None,
    password_file: str | None = None,
    private_key: str | None = None,
) -> LocalAccount:
    """Build a LocalAccount from a keystore (+ password or password file) or a raw private key."""
    if keystore_path:
        if password_file:
            try:
                password = Path(password_file).read_text().rstrip("\r\n")
            except OSError as exc:
                raise SignerConfigurationError(
                    f"cannot read the signer password file: {exc.strerror}"
                ) from None
        if not password:
            raise SignerConfigurationError("the signer keystore needs a password")
        try:
            keystore = json.loads(Path(keystore_path).read_text())
        except (OSError, ValueError) as exc:
            raise SignerConfigurationError(
                f"cannot read the signer keystore {keystore_path}: {exc}"
            ) from None
        try:
            key = Account.decrypt(keystore, password)
        except ValueError:
            raise SignerConfigurationError("the signer keystore password is wrong (MAC mismatch)") from None
        register_secret("0x" + bytes(key).hex())  # never in a log line, even from a careless f-string
        return Account.from_key(key)
    if private_key:
        try:
            return Account.from_key(private_key)
        except Exception:
            # The exception text may contain the key; never chain or repeat it.
            raise SignerConfigurationError(
                "SIGNER_PRIVATE_KEY is not a valid secp256k1 private key"
            ) from None
    raise SignerConfigurationError(
        "no signer configured: set SIGNER_KEYSTORE (+ password) or SIGNER_PRIVATE_KEY"
    )


@functools.cache
def get_signer() -> LocalAccount:
    """The configured signer, decrypted once per process (scrypt is deliberately slow)."""
    return load_signer_account(
        keystore_path=settings.SIGNER_KEYSTORE or None,
        password=settings.SIGNER_PASSWORD.reveal() or None,
        password_file=settings.SIGNER_PASSWORD_FILE or None,
        private_key=settings.SIGNER_PRIVATE_KEY.reveal() or None,
    )


def _setting_list(name: str) -> list[str]:
    """A list setting read with a default (the pool settings are optional), tolerating a
    comma-separated string and Secret-wrapped values."""
    value = getattr(settings, name, None) or []
    if hasattr(value, "reveal"):
        value = value.reveal()
    if isinstance(value, str):
        value = [part for part in value.split(",")]
    out = []
    for item in value:
        item = item.reveal() if hasattr(item, "reveal") else item
        item = str(item).strip()
        if item:
            out.append(item)
    return out


def _pool_password_files() -> list[str]:
    return _setting_list("SIGNER_POOL_PASSWORD_FILES")


def keystore_address(path: str) -> str:
    """The address a keystore is for, without decrypting it (its `address` field)."""
    try:
        address = json.loads(Path(path).read_text()).get("address")
    except (OSError, ValueError) as exc:
        raise SignerConfigurationError(f"cannot read the signer keystore {path}: {exc}") from None
    if not address:
        raise SignerConfigurationError(f"the signer keystore {path} names no address")
    return to_checksum_address(address if address.startswith("0x") else "0x" + address)


def _pool_key_account(private_key: str) -> LocalAccount:
    try:
        account = Account.from_key(private_key)
    except Exception:
        raise SignerConfigurationError(
            "an entry of SIGNER_POOL_PRIVATE_KEYS is not a valid private key"
        ) from None
    register_secret("0x" + bytes(account.key).hex())
    return account


def pool_addresses() -> list[str]:
    """Every configured signer's address, the primary first, in settings order, without decrypting
    a keystore (web processes assign lanes at enqueue and never need the keys)."""
    return list(_pool_addresses())


@functools.cache
def _pool_addresses() -> tuple[str, ...]:
    addresses = [get_signer_address()]
    addresses += [keystore_address(path) for path in _setting_list("SIGNER_POOL_KEYSTORES")]
    addresses += [_pool_key_account(key).address for key in _setting_list("SIGNER_POOL_PRIVATE_KEYS")]
    return tuple(dict.fromkeys(addresses))  # a key listed twice is one lane


@functools.cache
def get_signer_address() -> str:
    """The primary signer's address (from the keystore file when there is one: no decryption)."""
    if settings.SIGNER_KEYSTORE:
        return keystore_address(settings.SIGNER_KEYSTORE)
    return get_signer().address


@functools.cache
def get_signer_pool() -> dict[str, LocalAccount]:
    """Every configured signer by checksummed address, the primary first; decrypted once per process."""
    pool = {get_signer().address: get_signer()}
    keystores = _setting_list("SIGNER_POOL_KEYSTORES")
    password_files = _pool_password_files()
    if password_files and len(password_files) != len(keystores):
        raise SignerConfigurationError(
            "SIGNER_POOL_PASSWORD_FILES must name one password file per SIGNER_POOL_KEYSTORES entry"
        )
    for index, path in enumerate(keystores):
        account = load_signer_account(
            keystore_path=path,
            password=settings.SIGNER_PASSWORD.reveal() or None,
            password_file=(password_files[index] if password_files else settings.SIGNER_PASSWORD_FILE)
            or None,
        )
        pool.setdefault(account.address, account)
    for key in _setting_list("SIGNER_POOL_PRIVATE_KEYS"):
        account = _pool_key_account(key)
        pool.setdefault(account.address, account)
    return pool


def signer_for(address: str) -> LocalAccount:
    """The pool signer with this address (a row's own signer, for replacements and fillers)."""
    if not address:
        return get_signer()
    account = get_signer_pool().get(to_checksum_address(address))
    if account is None:
        raise SignerConfigurationError(
            f"no configured signer key for {address} (was it removed from the pool?)"
        )
    return account


def clear_signer_caches() -> None:
    """Forget the loaded keys and addresses (tests that change the pool settings)."""
    for cached in (get_signer, get_signer_pool, get_signer_address, _pool_addresses):
        cached.cache_clear()
