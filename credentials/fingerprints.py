"""Credential fingerprints and batch leaves: pure functions, the same on chain and off.

fingerprint = keccak256(RFC 8785 JSON of {"scheme": "ledgerbridge.credential.v1", "document": doc}),
so the same document always has one fingerprint however its keys are ordered or spaced, and the
scheme can change without old fingerprints becoming ambiguous. On chain a credential's type is
keccak256 of its name ("kyc" → keccak256("kyc")); a batch leaf is OpenZeppelin's standard leaf of
(bytes32 fingerprint, address subject, bytes32 credentialType, uint64 expiresAt), as
`CredentialVault.batchLeaf` computes it.
"""

from __future__ import annotations

from datetime import datetime

from eth_utils import keccak

from blockchain.chain.abi import bytes32_from_hex
from blockchain.chain.merkle import standard_leaf
from core.canonical_json import NotCanonicalizable, canonical_json

CREDENTIAL_SCHEME = "ledgerbridge.credential.v1"
MAX_DOCUMENT_BYTES = 64 * 1024


class InvalidDocument(ValueError):
    pass


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def canonical_document(document: object) -> bytes:
    if not isinstance(document, dict) or not document:
        raise InvalidDocument("A credential document is a non-empty JSON object.")
    try:
        encoded = canonical_json({"scheme": CREDENTIAL_SCHEME, "document": document})
    except NotCanonicalizable as exc:  # its message is ours and names the value
        raise InvalidDocument(f"The document cannot be canonicalised: {exc}") from None
    except RecursionError:
        raise InvalidDocument("The document cannot be canonicalised: it is nested too deeply.") from None
    except (TypeError, ValueError):  # never the library's text in a response
        raise InvalidDocument(
            "The document cannot be canonicalised: a value is not JSON "
            "(an object, array, string, number, true, false or null)."
        ) from None
    if len(encoded) > MAX_DOCUMENT_BYTES:
        raise InvalidDocument(f"The document is over {MAX_DOCUMENT_BYTES // 1024} KiB.")
    if _has_nul(document):  # PostgreSQL stores no NUL in jsonb (or text)
        raise InvalidDocument("A credential document cannot contain NUL characters (\\u0000).")
    return encoded


def fingerprint_of(document: object) -> str:
    """0x-hex keccak256 of the canonical document (see the module docstring)."""
    return "0x" + keccak(canonical_document(document)).hex()


def reason_hash(reason: str) -> bytes:
    """What a revocation puts on chain for its reason: the hash, never the words."""
    return keccak(text=reason)


def type_hash(credential_type: str) -> bytes:
    return keccak(text=credential_type)


def expiry_seconds(expires_at: datetime | None) -> int:
    return int(expires_at.timestamp()) if expires_at else 0


LEAF_ENCODING = ("bytes32", "address", "bytes32", "uint64")


def leaf_of(*, fingerprint: str, subject: str, credential_type_hash: bytes, expires_seconds: int) -> bytes:
    """The batch leaf of the values the vault commits to (the type already hashed)."""
    return standard_leaf(
        LEAF_ENCODING, [bytes32_from_hex(fingerprint), subject, credential_type_hash, expires_seconds]
    )


def batch_leaf(*, fingerprint: str, subject: str, credential_type: str, expires_at: datetime | None) -> bytes:
    return leaf_of(
        fingerprint=fingerprint,
        subject=subject,
        credential_type_hash=type_hash(credential_type),
        expires_seconds=expiry_seconds(expires_at),
    )
