"""Signer loading from an encrypted keystore or a raw key; errors never contain key material."""

import json

import pytest
from eth_account import Account

from blockchain.chain.signer import SignerConfigurationError, load_signer_account


@pytest.fixture
def keystore(tmp_path):
    account = Account.create()
    path = tmp_path / "keystore.json"
    path.write_text(json.dumps(Account.encrypt(account.key, "s3cret-pass", kdf="pbkdf2", iterations=2)))
    return account, path


def test_keystore_with_password_file(keystore, tmp_path):
    account, path = keystore
    password_file = tmp_path / "pass"
    password_file.write_text("s3cret-pass\n")
    assert (
        load_signer_account(keystore_path=str(path), password_file=str(password_file)).address
        == account.address
    )


def test_keystore_with_password_from_env_value(keystore):
    account, path = keystore
    assert load_signer_account(keystore_path=str(path), password="s3cret-pass").address == account.address


def test_wrong_password_is_a_clear_error(keystore):
    _, path = keystore
    with pytest.raises(SignerConfigurationError, match="password is wrong"):
        load_signer_account(keystore_path=str(path), password="nope")


def test_missing_password_file_is_a_clear_error(keystore, tmp_path):
    _, path = keystore
    with pytest.raises(SignerConfigurationError, match="password file"):
        load_signer_account(keystore_path=str(path), password_file=str(tmp_path / "absent"))


def test_raw_key_error_does_not_echo_the_key():
    bad_key = "0x" + "zz" * 32
    with pytest.raises(SignerConfigurationError) as info:
        load_signer_account(private_key=bad_key)
    assert "zz" * 32 not in str(info.value) and info.value.__cause__ is None


def test_no_signer_configured():
    with pytest.raises(SignerConfigurationError, match="no signer configured"):
        load_signer_account()
