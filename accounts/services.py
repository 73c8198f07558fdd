"""Account writes: registration, user creation for operators, wallet binding by EIP-4361, token
revocation."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from eth_account import Account
from eth_account.messages import encode_defunct
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import STAFF_ROLES, Role, User, WalletChallenge
from accounts.signals import wallet_bound
from accounts.siwe import SiweMessage, SiweMessageError, parse_siwe_message
from blockchain.chain.addresses import normalize_address
from core.api import DomainError, StateConflict

logger = logging.getLogger(__name__)


def create_user(
    *,
    username: str,
    role: str,
    password: str | None,
    email: str = "",
    validate: bool = True,
) -> User:
    """Create a user of any role. Compliance officers and operators get admin (staff) access.

    `password=None` makes an account that cannot log in with a password.
    """
    if role not in Role.values:
        raise DomainError(
            f"Unknown role {role!r}; choose one of {', '.join(Role.values)}.", code="invalid_role"
        )
    user = User(username=username, email=email, role=role, is_staff=role in STAFF_ROLES)
    if password is None:
        user.set_unusable_password()
    else:
        if validate:
            validate_password(password, user)
        user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
            # Staff roles get the admin permissions of the group named after the role.
            user.groups.add(*Group.objects.filter(name=role))
    except IntegrityError:
        raise StateConflict(
            "A user with that username or email already exists.", code="user_exists"
        ) from None
    return user


def revoke_tokens(*, user: User, reason: str) -> int:
    """End every API session of `user`: the access and refresh tokens issued so far stop working at
    once (their token generation is no longer the user's) and the user's outstanding refresh tokens
    are blacklisted too. Called on a password change and on deactivation (accounts.receivers), from
    wherever they happen. Returns how many unexpired refresh tokens it blacklisted."""
    with transaction.atomic():
        # An UPDATE, not save(): concurrent revocations each move the generation, and no save
        # signal fires again for it.
        User.objects.filter(pk=user.pk).update(token_generation=F("token_generation") + 1)
        user.refresh_from_db(fields=["token_generation"])
        live = OutstandingToken.objects.filter(
            user=user, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
        )
        blacklisted = BlacklistedToken.objects.bulk_create(
            [BlacklistedToken(token=token) for token in live], ignore_conflicts=True
        )
    logger.info("revoked the API tokens of user %s (%s)", user.pk, reason)
    return len(blacklisted)


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def issue_wallet_challenge(*, user: User, address: str) -> WalletChallenge:
    """Create a single-use EIP-4361 message for `user` to sign with `address` (expires in 10 min)."""
    address = normalize_address(address)
    now = timezone.now().replace(microsecond=0)
    nonce = secrets.token_hex(16)
    message = SiweMessage(
        domain=settings.SIWE_DOMAIN,
        address=address,
        statement=settings.SIWE_STATEMENT,
        uri=settings.SIWE_URI,
        chain_id=settings.CHAIN_ID,
        nonce=nonce,
        issued_at=now,
        expiration_time=now + timedelta(seconds=settings.SIWE_TTL_SECONDS),
    )
    return WalletChallenge.objects.create(
        user=user,
        address=address,
        nonce=nonce,
        message=message.to_text(),
        issued_at=message.issued_at,
        expires_at=message.expiration_time,
    )


def _recover_signer(message: str, signature: str) -> str:
    sig = signature[2:] if signature.startswith(("0x", "0X")) else signature
    if len(sig) != 130 or any(c not in "0123456789abcdefABCDEF" for c in sig):
        raise DomainError("The signature must be 65 bytes of hex.", code="invalid_signature")
    try:
        return Account.recover_message(encode_defunct(text=message), signature=bytes.fromhex(sig))
    except Exception:
        raise DomainError("The signature could not be recovered.", code="invalid_signature") from None


def bind_wallet(*, user: User, message: str, signature: str) -> User:
    """Bind the wallet that signed one of `user`'s outstanding challenges.

    Checks, in order: well-formed message, our domain and chain id, a challenge we issued to this
    user with exactly this text, unused, within its validity window, signed by the named address,
    and the address not bound to another user.
    """
    try:
        parsed = parse_siwe_message(message)
    except SiweMessageError as exc:
        raise DomainError(f"Malformed sign-in message: {exc}.", code="malformed_message") from None
    if parsed.domain != settings.SIWE_DOMAIN:
        raise DomainError(
            f"The message is for domain {parsed.domain!r}, not this site.", code="domain_mismatch"
        )
    if parsed.chain_id != settings.CHAIN_ID:
        raise DomainError(
            f"The message is for chain {parsed.chain_id}, not {settings.CHAIN_ID}.", code="chain_mismatch"
        )

    with transaction.atomic():
        challenge = WalletChallenge.objects.select_for_update().filter(user=user, nonce=parsed.nonce).first()
        if challenge is None or challenge.message != message:
            raise DomainError(
                "This message was not issued to you; request a new challenge.", code="unknown_challenge"
            )
        if challenge.used_at is not None:
            raise StateConflict("This challenge was already used; request a new one.", code="challenge_used")
        now = timezone.now()
        if now >= challenge.expires_at:
            raise DomainError("The challenge has expired; request a new one.", code="challenge_expired")
        if parsed.not_before is not None and now < parsed.not_before:
            raise DomainError("The challenge is not valid yet.", code="challenge_not_yet_valid")
        if _recover_signer(message, signature) != challenge.address:
            raise DomainError(
                "The signature was not made by the wallet in the message.", code="signature_mismatch"
            )
        if User.objects.filter(wallet_address=challenge.address).exclude(pk=user.pk).exists():
            raise StateConflict("This wallet is bound to another account.", code="wallet_taken")
        challenge.used_at = now
        challenge.save(update_fields=["used_at"])
        user.wallet_address = challenge.address
        user.wallet_verified = True
        user.wallet_verified_at = now
        try:
            with transaction.atomic():
                user.save(update_fields=["wallet_address", "wallet_verified", "wallet_verified_at"])
        except IntegrityError:
            # Lost a race with another account binding the same wallet.
            raise StateConflict("This wallet is bound to another account.", code="wallet_taken") from None
        wallet_bound.send(sender=User, user=user)  # e.g. link the wallet's credentials (same transaction)
    return user
