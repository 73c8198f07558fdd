"""Credential reads: visibility, and KYC/KYB derived from linked credentials."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from accounts.models import User
from accounts.selectors import KycSummary
from blockchain.selectors import chain_transactions_prefetch
from core.api import StateConflict
from credentials.models import Credential, CredentialLink, CredentialStatus, Institution, LinkPurpose
from issuers.kyb import KybCredential


def credentials_for(user: User) -> QuerySet[Credential]:
    """Compliance and operators see all; an institution's members its credentials; a user the
    credentials naming their verified wallet."""
    credentials = Credential.objects.select_related("institution", "batch").prefetch_related(
        chain_transactions_prefetch()
    )
    if not user.is_authenticated:
        return credentials.none()
    if user.has_role("compliance", "operator"):
        return credentials
    visible = Q(institution__members=user)
    if user.wallet_verified and user.wallet_address:
        visible |= Q(subject_wallet=user.wallet_address)
    return credentials.filter(visible).distinct()


def institutions() -> QuerySet[Institution]:
    return Institution.objects.prefetch_related(chain_transactions_prefetch())


def _qualifying_links(**holder) -> QuerySet[CredentialLink]:
    return (
        CredentialLink.objects.filter(**holder, credential__institution__kyc_provider=True)
        .select_related("credential__institution")
        .order_by("-credential__issued_at", "-id")
    )


def _state(credential: Credential) -> str:
    if credential.status == CredentialStatus.REVOKED or credential.revocation_requested_at:
        return "revoked"
    if credential.expired:
        return "expired"
    if not credential.institution.active:
        return "issuer_inactive"
    return "valid" if credential.status == CredentialStatus.ISSUED else "pending"


def kyc_summary_for(user: User) -> KycSummary:
    """The user's KYC: valid while a linked kyc credential for their bound wallet, from a
    kyc_provider institution, is issued, confirmed, unrevoked and unexpired."""
    if not (user.wallet_verified and user.wallet_address):
        return {"status": "none", "credential_id": None, "expires_at": None}
    links = list(
        _qualifying_links(user=user, purpose=LinkPurpose.KYC, credential__subject_wallet=user.wallet_address)
    )
    if not links:
        return {"status": "none", "credential_id": None, "expires_at": None}
    chosen = next(
        (link.credential for link in links if _state(link.credential) == "valid"), links[0].credential
    )
    return {
        "status": _state(chosen),
        "credential_id": chosen.pk,
        "expires_at": chosen.expires_at.isoformat() if chosen.expires_at else None,
    }


def require_valid_kyc(user: User) -> Credential:
    """The investment gate: the user's valid KYC credential, or a 409 saying why not."""
    summary = kyc_summary_for(user)
    if summary["status"] != "valid":
        reasons = {
            "none": "You have no KYC credential for your bound wallet.",
            "revoked": "Your KYC credential was revoked.",
            "expired": "Your KYC credential has expired.",
            "issuer_inactive": "The institution that issued your KYC credential is no longer active.",
            "pending": "Your KYC credential is not confirmed on chain yet.",
        }
        raise StateConflict(
            reasons[summary["status"]], code=f"kyc_{summary['status']}", kyc_status=summary["status"]
        )
    return Credential.objects.get(pk=summary["credential_id"])


def kyb_credential_of(company) -> KybCredential | None:
    """The company's valid KYB credential for its current, proven wallet (from a kyc_provider
    institution), if any."""
    if company.wallet_proven_at is None:
        return None
    links = _qualifying_links(
        company=company, purpose=LinkPurpose.KYB, credential__subject_wallet=company.wallet_address
    )
    for link in links:
        if _state(link.credential) == "valid":
            return KybCredential(str(link.credential.pk), link.credential.fingerprint)
    return None


def is_accredited(user: User) -> bool:
    """Accreditation is never self-declared: a valid linked `accreditation` credential for the
    user's bound wallet, from a kyc_provider institution."""
    if not (user.wallet_verified and user.wallet_address):
        return False
    links = _qualifying_links(
        user=user, purpose=LinkPurpose.ACCREDITATION, credential__subject_wallet=user.wallet_address
    )
    return any(_state(link.credential) == "valid" for link in links)
