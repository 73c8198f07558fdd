"""Account reads."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypedDict

from accounts.models import User


class KycSummary(TypedDict):
    status: str  # "none" | "valid" | "expired" | "revoked" | "pending"
    credential_id: int | None
    expires_at: str | None


KycProvider = Callable[[User], KycSummary]
_kyc_provider: KycProvider | None = None


def register_kyc_provider(provider: KycProvider) -> None:
    """The credentials app plugs in here (in AppConfig.ready) to derive KYC from linked credentials."""
    global _kyc_provider
    _kyc_provider = provider


def kyc_summary(user: User) -> KycSummary:
    """The user's KYC state; "none" while no credential qualifies them."""
    if _kyc_provider is None:
        return {"status": "none", "credential_id": None, "expires_at": None}
    return _kyc_provider(user)


class Membership(TypedDict):
    id: int
    address: str
    name: str
    role: str


# Membership has one kind today: a member issues and revokes the institution's credentials.
MEMBER_ROLE = "member"


def institutions_of(user: User) -> list[Membership]:
    """The institutions `user` is a member of (through the `institutions` relation the credentials
    app declares on its Institution model), by name."""
    if not user.is_authenticated:
        return []
    rows = user.institutions.order_by("name", "pk").values("pk", "address", "name")
    return [
        {"id": row["pk"], "address": row["address"], "name": row["name"], "role": MEMBER_ROLE} for row in rows
    ]


def wallet_next_step(user: User) -> dict:
    """What a user without a bound wallet does next (the `next_step` of 409 wallet_not_bound): prove
    control of the wallet by Sign-In with Ethereum (EIP-4361) over a single-use challenge, then
    check `GET /api/auth/me/` (`wallet_verified`). Investing also needs a valid KYC credential for it."""
    return {
        "action": "bind_wallet",
        "detail": (
            "Ask for a sign-in message with POST /api/auth/wallet/challenge/ {address}, sign it with "
            "that wallet (EIP-4361, personal_sign), and send it back with POST /api/auth/wallet/verify/ "
            "{message, signature}. GET /api/auth/me/ then shows wallet_verified: true. Investing also "
            "needs a valid KYC credential for that wallet."
        ),
        "wallet_address": user.wallet_address or None,
        "challenge_endpoint": "POST /api/auth/wallet/challenge/",
        "verify_endpoint": "POST /api/auth/wallet/verify/",
        "status_endpoint": "GET /api/auth/me/",
    }
