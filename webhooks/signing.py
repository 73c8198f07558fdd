"""Endpoint secrets and Standard Webhooks signatures (https://www.standardwebhooks.com).

A secret is `whsec_` + base64 of 24 random bytes; the signature of a delivery is
`v1,` + base64(HMAC-SHA256(secret bytes, "{webhook-id}.{webhook-timestamp}.{body}")).
At rest the secret is AES-256-GCM ciphertext under a key derived from WEBHOOK_SECRETS_KEY (by
default from SECRET_KEY), so a database dump alone cannot forge deliveries.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from core.secrets import Secret

PREFIX = "whsec_"
_CIPHER_VERSION = "v1"


def new_secret() -> Secret:
    return Secret(PREFIX + base64.b64encode(secrets.token_bytes(24)).decode())


def _key() -> bytes:
    material = (settings.WEBHOOK_SECRETS_KEY or settings.SECRET_KEY).encode()
    kdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"ledgerbridge.webhooks", info=b"endpoint-secret")
    return kdf.derive(material)


def seal(secret: Secret) -> str:
    """The stored form of a secret: version, then base64 of nonce and ciphertext (tag included)."""
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(_key()).encrypt(nonce, secret.reveal().encode(), _CIPHER_VERSION.encode())
    return f"{_CIPHER_VERSION}:" + base64.b64encode(nonce + sealed).decode()


def unseal(stored: str) -> Secret:
    version, _, payload = stored.partition(":")
    if version != _CIPHER_VERSION:
        raise ValueError("unknown webhook secret format")
    raw = base64.b64decode(payload)
    plain = AESGCM(_key()).decrypt(raw[:12], raw[12:], _CIPHER_VERSION.encode())
    return Secret(plain.decode())


def signature(secret: Secret, *, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.reveal().removeprefix(PREFIX))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
