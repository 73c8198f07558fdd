"""The sender's type-2 signing gives exactly eth_account's bytes and hash, for any field values."""

from __future__ import annotations

from eth_account import Account
from eth_utils import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from blockchain.chain.transactions import transaction_signer

KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # anvil dev account 1
ACCOUNT = Account.from_key(KEY)

uint = st.integers(min_value=0, max_value=2**256 - 1)
addresses = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())


@settings(max_examples=150, deadline=None)
@given(
    chain_id=st.integers(min_value=1, max_value=2**64 - 1),
    nonce=st.integers(min_value=0, max_value=2**64 - 2),
    priority=uint,
    max_fee=uint,
    gas=st.integers(min_value=0, max_value=2**64 - 1),
    to=addresses,
    value=uint,
    data=st.binary(max_size=600),
)
def test_signed_bytes_and_hash_equal_eth_accounts(chain_id, nonce, priority, max_fee, gas, to, value, data):
    ours = transaction_signer(ACCOUNT).sign_dynamic_fee(
        chain_id=chain_id,
        nonce=nonce,
        max_priority_fee_per_gas=priority,
        max_fee_per_gas=max_fee,
        gas=gas,
        to=to,
        value=value,
        data=data,
    )
    reference = ACCOUNT.sign_transaction(
        {
            "type": 2,
            "chainId": chain_id,
            "nonce": nonce,
            "maxPriorityFeePerGas": priority,
            "maxFeePerGas": max_fee,
            "gas": gas,
            "to": to_checksum_address(to),
            "value": value,
            "data": data,
        }
    )
    assert ours.raw_transaction == bytes(reference.raw_transaction)
    assert ours.hash == bytes(reference.hash)


def test_the_signature_recovers_to_the_signer():
    signed = transaction_signer(ACCOUNT).sign_dynamic_fee(
        chain_id=31337,
        nonce=7,
        max_priority_fee_per_gas=1,
        max_fee_per_gas=2_000_000_000,
        gas=21_000,
        to=ACCOUNT.address,
        value=0,
        data=b"",
    )
    assert Account.recover_transaction(signed.raw_transaction) == ACCOUNT.address


def test_a_new_key_behind_the_same_address_gets_a_new_signer():
    first = transaction_signer(ACCOUNT)
    assert transaction_signer(Account.from_key(KEY)) is first, "made once per key"
    other = Account.create()
    assert transaction_signer(other) is not first
