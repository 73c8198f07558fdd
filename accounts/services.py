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
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import STAFF_ROLES, Role, User, WalletChallenge
from accounts.signals import wallet_bound
from accounts.siwe import SiweMessage
from accounts.wallet_proof import ChallengeRefused, siwe_domain_allowed, use_challenge
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


def issue_wallet_challenge(
    *, user: User, address: str, domain: str | None = None, uri: str | None = None
) -> WalletChallenge:
    """Create a single-use EIP-4361 message for `user` to sign with `address` (expires in 10 min).

    `domain` and `uri` are the host and origin the request came to (a wallet warns when the message
    names another site than the one asking); a domain that is not this site's, or none, falls back
    to SIWE_DOMAIN / SIWE_URI.
    """
    address = normalize_address(address)
    if domain is None or not siwe_domain_allowed(domain):
        domain, uri = settings.SIWE_DOMAIN, settings.SIWE_URI
    now = timezone.now().replace(microsecond=0)
    nonce = secrets.token_hex(16)
    message = SiweMessage(
        domain=domain,
        address=address,
        statement=settings.SIWE_STATEMENT,
        uri=uri or f"https://{domain}",
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


def bind_wallet(*, user: User, message: str, signature: str) -> User:
    """Bind the wallet that signed one of `user`'s outstanding challenges: an EOA by its key, a
    contract wallet (a multisig, a smart account) by EIP-1271.

    The challenge checks are accounts.wallet_proof.use_challenge's (each refusal a 400 with its
    reason as the code; an already used challenge is a 409); then the address must not be bound to
    another user (409 wallet_taken). A refusal uses nothing up.
    """
    with transaction.atomic():
        try:
            challenge = use_challenge(user=user, message=message, signature=signature)
        except ChallengeRefused as exc:
            refusal = StateConflict if exc.conflict else DomainError
            raise refusal(str(exc), code=exc.reason) from None
        if User.objects.filter(wallet_address=challenge.address).exclude(pk=user.pk).exists():
            raise StateConflict("This wallet is bound to another account.", code="wallet_taken")
        user.wallet_address = challenge.address
        user.wallet_verified = True
        user.wallet_verified_at = challenge.used_at
        try:
            with transaction.atomic():
                user.save(update_fields=["wallet_address", "wallet_verified", "wallet_verified_at"])
        except IntegrityError:
            # Lost a race with another account binding the same wallet.
            raise StateConflict("This wallet is bound to another account.", code="wallet_taken") from None
        wallet_bound.send(sender=User, user=user)  # e.g. link the wallet's credentials (same transaction)
    return user
