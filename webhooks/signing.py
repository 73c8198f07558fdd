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

from Crypto.Cipher import AES
from Crypto.Hash import SHA256
from Crypto.Protocol.KDF import HKDF
from django.conf import settings

from core.secrets import Secret

PREFIX = "whsec_"
_CIPHER_VERSION = "v1"


def new_secret() -> Secret:
    return Secret(PREFIX + base64.b64encode(secrets.token_bytes(24)).decode())


def _key() -> bytes:
    material = (settings.WEBHOOK_SECRETS_KEY or settings.SECRET_KEY).encode()
    return HKDF(material, 32, salt=b"ledgerbridge.webhooks", hashmod=SHA256, context=b"endpoint-secret")


def seal(secret: Secret) -> str:
    """The stored form of a secret: version, nonce, ciphertext and tag, base64."""
    nonce = secrets.token_bytes(12)
    cipher = AES.new(_key(), AES.MODE_GCM, nonce=nonce)
    ciphertext, tag = cipher.encrypt_and_digest(secret.reveal().encode())
    return f"{_CIPHER_VERSION}:" + base64.b64encode(nonce + ciphertext + tag).decode()


def unseal(stored: str) -> Secret:
    version, _, payload = stored.partition(":")
    if version != _CIPHER_VERSION:
        raise ValueError("unknown webhook secret format")
    raw = base64.b64decode(payload)
    nonce, ciphertext, tag = raw[:12], raw[12:-16], raw[-16:]
    cipher = AES.new(_key(), AES.MODE_GCM, nonce=nonce)
    return Secret(cipher.decrypt_and_verify(ciphertext, tag).decode())


def signature(secret: Secret, *, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.reveal().removeprefix(PREFIX))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
