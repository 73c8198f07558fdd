"""The signer pool's settings checks (core.env_checks.signer_pool_problems)."""

from __future__ import annotations

from core.env_checks import signer_pool_problems


def problems(**overrides) -> list[str]:
    base = {
        "django_env": "production",
        "pool_keystores": [],
        "pool_password_files": [],
        "pool_private_keys": 0,
        "allow_raw_private_key": False,
        "has_keystore_password": True,
    }
    return signer_pool_problems(**{**base, **overrides})


def test_raw_pool_keys_are_refused_in_production_unless_explicitly_allowed():
    assert any("SIGNER_POOL_PRIVATE_KEYS is refused" in p for p in problems(pool_private_keys=3))
    assert problems(pool_private_keys=3, allow_raw_private_key=True) == []
    assert problems(pool_private_keys=3, django_env="development") == []


def test_pool_keystores_need_a_password_and_one_file_each_when_files_are_given():
    assert problems(pool_keystores=["a.json", "b.json"]) == []  # the primary's password
    assert any("neither" in p for p in problems(pool_keystores=["a.json"], has_keystore_password=False))
    mismatch = problems(pool_keystores=["a.json", "b.json"], pool_password_files=["a.pw"])
    assert any("one password file per" in p for p in mismatch)
    assert (
        problems(pool_keystores=["a.json"], pool_password_files=["a.pw"], has_keystore_password=False) == []
    )
