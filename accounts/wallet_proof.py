"""Proof that a user holds a wallet without binding it to them: a company's wallet, for example.

Binding a wallet to a user (accounts.services.bind_wallet) checks its challenge the same way
(use_challenge). The proof is one of the user's own single-use EIP-4361 challenges
(`/api/auth/wallet/challenge/`, accounts.services.issue_wallet_challenge) for that address, signed
by the wallet: its key (EOA) or, for a contract wallet, an EIP-1271 `isValidSignature` that accepts
it. A proof uses the challenge up
in the caller's transaction, so it counts once, for one purpose; a refused proof uses nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import NamedTuple

from django.conf import settings
from django.db import transaction
from django.http.request import split_domain_port, validate_host
from django.utils import timezone

from accounts.models import User, WalletChallenge
from accounts.siwe import SiweMessage, SiweMessageError, parse_siwe_message
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


class ChallengeRefused(Exception):
    """A signed challenge that proves nothing; `reason` is the stable code clients see, `conflict`
    marks the one refusal that is about state (already used) rather than input."""

    def __init__(self, message: str, *, reason: str, conflict: bool = False) -> None:
        super().__init__(message)
        self.reason = reason
        self.conflict = conflict


def siwe_domain_allowed(domain: str) -> bool:
    """Whether an EIP-4361 `domain` is this site: the configured public domain (SIWE_DOMAIN) or a host
    Django serves (ALLOWED_HOSTS, port ignored as Django ignores it)."""
    if domain == settings.SIWE_DOMAIN:
        return True
    host, _port = split_domain_port(domain)
    return bool(host) and validate_host(host, settings.ALLOWED_HOSTS)


def use_challenge(
    *, user: User, message: str, signature: str, address: str | None = None, now: datetime | None = None
) -> WalletChallenge:
    """Check that the wallet named in `message` signed one of `user`'s own challenges, and use it up
    (in the caller's transaction: a change the proof authorises and fails leaves it unused).

    The checks, each a ChallengeRefused reason: `malformed_message`; `address_mismatch` (a message for
    another wallet than `address`, when given); `domain_mismatch` (not this site); `chain_mismatch`;
    `invalid_signature` (not hex bytes); `unknown_challenge` (not issued to this user with exactly this
    text); `challenge_used`; `challenge_expired`; `challenge_not_yet_valid`; `signature_mismatch`
    (neither the wallet's key nor, for a contract wallet, its EIP-1271 `isValidSignature`). A node
    that cannot answer the EIP-1271 call is ChainUnavailable (it says nothing about the signature).
    """
    try:
        parsed = parse_siwe_message(message)
    except SiweMessageError as exc:
        raise ChallengeRefused(f"Malformed sign-in message: {exc}.", reason="malformed_message") from None
    if address is not None and parsed.address != address:
        raise ChallengeRefused(
            f"The proof is for wallet {parsed.address}, not {address}.", reason="address_mismatch"
        )
    if not siwe_domain_allowed(parsed.domain):
        raise ChallengeRefused(
            f"The message is for domain {parsed.domain!r}, not this site.", reason="domain_mismatch"
        )
    if parsed.chain_id != settings.CHAIN_ID:
        raise ChallengeRefused(
            f"The message is for chain {parsed.chain_id}, not {settings.CHAIN_ID}.", reason="chain_mismatch"
        )
    signature_bytes = _signature_bytes(signature)
    now = now or timezone.now()
    # The signature check may be an eth_call (EIP-1271): made before the challenge row is locked, so
    # no lock is held across a call to the node; the lock then only guards the single use.
    challenge = _usable_challenge(
        WalletChallenge.objects.all(), user=user, message=message, parsed=parsed, now=now
    )
    try:
        signed = signed_by(address=challenge.address, message=message, signature=signature_bytes)
    except TRANSIENT_ERRORS as exc:
        logger.warning("EIP-1271 check of %s failed: %s", challenge.address, describe_error(exc))
        raise ChainUnavailable(PUBLIC_CHAIN_UNAVAILABLE) from exc
    if not signed:
        raise ChallengeRefused(
            "The signature was not made by the wallet in the message.", reason="signature_mismatch"
        )
    with transaction.atomic():
        challenge = _usable_challenge(
            WalletChallenge.objects.select_for_update(), user=user, message=message, parsed=parsed, now=now
        )
        challenge.used_at = now
        challenge.save(update_fields=["used_at"])
    return challenge


def _usable_challenge(
    rows, *, user: User, message: str, parsed: SiweMessage, now: datetime
) -> WalletChallenge:
    """The user's unused, current challenge with exactly this text, or ChallengeRefused saying why."""
    challenge = rows.filter(user=user, nonce=parsed.nonce).first()
    if challenge is None or challenge.message != message or challenge.address != parsed.address:
        raise ChallengeRefused(
            "This message was not issued to you; request a new challenge.", reason="unknown_challenge"
        )
    if challenge.used_at is not None:
        raise ChallengeRefused(
            "This challenge was already used; request a new one.", reason="challenge_used", conflict=True
        )
    if now >= challenge.expires_at:
        raise ChallengeRefused("The challenge has expired; request a new one.", reason="challenge_expired")
    if parsed.not_before is not None and now < parsed.not_before:
        raise ChallengeRefused("The challenge is not valid yet.", reason="challenge_not_yet_valid")
    return challenge


def prove_wallet(
    *, user: User, address: str, proof: WalletProof | None, now: datetime | None = None
) -> WalletChallenge:
    """Check that `address` (EIP-55) signed a challenge issued to `user` for it, and use it up.

    Refusals are WalletNotProven with use_challenge's reasons, or `missing` without a proof. Binds
    nothing. Run it inside the transaction of the change it authorises: if that change fails, the
    challenge stays unused.
    """
    if proof is None:
        raise WalletNotProven(
            "Prove the wallet: sign a challenge from /api/auth/wallet/challenge/ with it.",
            reason="missing",
        )
    try:
        return use_challenge(
            user=user, message=proof.message, signature=proof.signature, address=address, now=now
        )
    except ChallengeRefused as exc:
        raise WalletNotProven(str(exc), reason=exc.reason) from None


def _signature_bytes(signature: str) -> bytes:
    body = signature[2:] if isinstance(signature, str) and signature.startswith(("0x", "0X")) else ""
    try:
        value = bytes.fromhex(body)
    except ValueError:
        value = b""
    if not value:
        raise ChallengeRefused("The signature must be 0x-prefixed hex bytes.", reason="invalid_signature")
    return value
