"""Proof that a user holds a wallet without binding it to them: a company's wallet, for example.

The proof is one of the user's own single-use EIP-4361 challenges (`/api/auth/wallet/challenge/`,
accounts.services.issue_wallet_challenge) for that address, signed by the wallet: its key (EOA) or,
for a contract wallet, an EIP-1271 `isValidSignature` that accepts it. A proof uses the challenge up
in the caller's transaction, so it counts once, for one purpose; a refused proof uses nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import NamedTuple

from django.db import transaction
from django.utils import timezone

from accounts.models import User, WalletChallenge
from accounts.siwe import SiweMessageError, parse_siwe_message
from blockchain.chain.client import TRANSIENT_ERRORS
from blockchain.chain.signatures import signed_by
from core.api import PUBLIC_CHAIN_UNAVAILABLE, ChainUnavailable, DomainError
from core.log_format import describe_error

logger = logging.getLogger(__name__)


class WalletProof(NamedTuple):
    """`{message, signature}`: the challenge text and the wallet's 0x-hex signature of it."""

    message: str
    signature: str


class WalletNotProven(DomainError):
    """400 `wallet_not_proven`; `reason` says which check failed (stable, for clients)."""

    default_code = "wallet_not_proven"

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message, reason=reason, errors={"wallet_proof": message})
        self.reason = reason


def prove_wallet(
    *, user: User, address: str, proof: WalletProof | None, now: datetime | None = None
) -> WalletChallenge:
    """Check that `address` (EIP-55) signed a challenge issued to `user` for it, and use it up.

    Refusals (WalletNotProven): no proof; a malformed message; a message naming another address;
    a challenge not issued to this user with exactly this text; one already used (to bind a wallet
    or prove one); one past its expiry; a signature neither the address's key nor its EIP-1271 code
    accepts. Binds nothing. Run it inside the transaction of the change it authorises: if that
    change fails, the challenge stays unused.
    """
    if proof is None:
        raise WalletNotProven(
            "Prove the wallet: sign a challenge from /api/auth/wallet/challenge/ with it.",
            reason="missing",
        )
    try:
        parsed = parse_siwe_message(proof.message)
    except SiweMessageError as exc:
        raise WalletNotProven(f"Malformed sign-in message: {exc}.", reason="malformed_message") from None
    if parsed.address != address:
        raise WalletNotProven(
            f"The proof is for wallet {parsed.address}, not {address}.", reason="address_mismatch"
        )
    signature = _signature_bytes(proof.signature)
    with transaction.atomic():
        challenge = WalletChallenge.objects.select_for_update().filter(user=user, nonce=parsed.nonce).first()
        if challenge is None or challenge.message != proof.message or challenge.address != address:
            raise WalletNotProven(
                "This message was not issued to you; request a new challenge.", reason="unknown_challenge"
            )
        if challenge.used_at is not None:
            raise WalletNotProven(
                "This challenge was already used; request a new one.", reason="challenge_used"
            )
        now = now or timezone.now()
        if now >= challenge.expires_at:
            raise WalletNotProven("The challenge has expired; request a new one.", reason="challenge_expired")
        try:
            signed = signed_by(address=address, message=proof.message, signature=signature)
        except TRANSIENT_ERRORS as exc:
            logger.warning("EIP-1271 check of %s failed: %s", address, describe_error(exc))
            raise ChainUnavailable(PUBLIC_CHAIN_UNAVAILABLE) from exc
        if not signed:
            raise WalletNotProven(
                "The signature was not made by the wallet in the message.", reason="signature_mismatch"
            )
        challenge.used_at = now
        challenge.save(update_fields=["used_at"])
    return challenge


def _signature_bytes(signature: str) -> bytes:
    body = signature[2:] if isinstance(signature, str) and signature.startswith(("0x", "0X")) else ""
    try:
        value = bytes.fromhex(body)
    except ValueError:
        value = b""
    if not value:
        raise WalletNotProven("The signature must be 0x-prefixed hex bytes.", reason="invalid_signature")
    return value
