"""EIP-4361 grammar: what the parser accepts and what it refuses."""

from datetime import UTC, datetime

import pytest

from accounts.siwe import SiweMessage, SiweMessageError, parse_siwe_message

ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


def message(**overrides) -> SiweMessage:
    fields = dict(
        domain="app.example.com",
        address=ADDRESS,
        statement="Bind this wallet.",
        uri="https://app.example.com/login",
        chain_id=137,
        nonce="abcdef0123456789",
        issued_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    fields.update(overrides)
    return SiweMessage(**fields)


def test_round_trip_with_every_optional_field():
    original = message(
        scheme="https",
        expiration_time=datetime(2026, 1, 2, 3, 14, 5, tzinfo=UTC),
        not_before=datetime(2026, 1, 2, 3, 0, 0, tzinfo=UTC),
        request_id="req-1",
        resources=("ipfs://bafy1", "https://example.com/terms"),
    )
    assert parse_siwe_message(original.to_text()) == original


def test_round_trip_without_statement():
    original = message(statement=None)
    assert "\n\n\nURI:" in original.to_text()
    assert parse_siwe_message(original.to_text()) == original


def test_text_matches_the_eip_layout():
    assert message().to_text() == (
        "app.example.com wants you to sign in with your Ethereum account:\n"
        f"{ADDRESS}\n\nBind this wallet.\n\n"
        "URI: https://app.example.com/login\nVersion: 1\nChain ID: 137\n"
        "Nonce: abcdef0123456789\nIssued At: 2026-01-02T03:04:05Z"
    )


@pytest.mark.parametrize(
    "mutate, reason",
    [
        (lambda t: t.replace(ADDRESS, ADDRESS.lower()), "EIP-55"),
        (lambda t: t.replace("Version: 1", "Version: 2"), "version"),
        (lambda t: t.replace("Chain ID: 137", "Chain ID: 0x89"), "Chain ID"),
        (lambda t: t.replace("abcdef0123456789", "short"), "Nonce"),
        (lambda t: t.replace("abcdef0123456789", "has-dash-nonce"), "Nonce"),
        (lambda t: t.replace("2026-01-02T03:04:05Z", "yesterday"), "Issued At"),
        (lambda t: t.replace("2026-01-02T03:04:05Z", "2026-01-02T03:04:05"), "time zone"),
        (lambda t: t.replace("\n", "\r\n"), "LF"),
        (lambda t: t + "\nExtra: field", "unexpected"),
        (lambda t: t.replace("URI: ", "Url: "), "URI"),
        (lambda t: t.replace(" wants you to sign in", " asks you to sign in"), "first line"),
    ],
)
def test_malformed_messages_are_refused_with_a_reason(mutate, reason):
    with pytest.raises(SiweMessageError, match=reason):
        parse_siwe_message(mutate(message().to_text()))
