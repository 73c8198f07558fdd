"""Loads the platform's signing account. The key never leaves this module's return value.

Order: an encrypted eth-account keystore (SIGNER_KEYSTORE) with its password from
SIGNER_PASSWORD_FILE or SIGNER_PASSWORD; else a raw key (SIGNER_PRIVATE_KEY), which settings only
accept outside production unless SIGNER_ALLOW_RAW_KEY is set explicitly.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from django.conf import settings
from eth_account import Account
from eth_account.signers.local import LocalAccount

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
