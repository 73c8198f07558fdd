"""Company writes: registration of the company, KYB review, and what the chain said about it.

Approval moves the company to `registering`; its post_save signal puts registerIssuer in the outbox
in the same transaction (issuers/signals.py).
"""

from __future__ import annotations

import logging
import re
from typing import Any

import pycountry
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction

from accounts.models import User
from accounts.wallet_proof import WalletProof, prove_wallet
from blockchain.chain.addresses import InvalidAddress, normalize_address
from blockchain.outbox.declared import declare
from core import clock
from core.api import DomainError, NotAllowed, StateConflict
from issuers.kyb import kyb_credential_for, kyb_record_fingerprint
from issuers.models import (
    CID_PATTERN,
    DECISIONS_WITHOUT_REASON,
    Company,
    ComplianceReview,
    KybStatus,
    RegistrationStatus,
    ReviewDecision,
)
from issuers.onchain.intents import REGISTER_KIND
from issuers.signals import company_wallet_proven

logger = logging.getLogger(__name__)

EDITABLE_FIELDS = ("legal_name", "registration_number", "country", "wallet_address", "document_cid")


def record_review(
    *, subject: models.Model, officer: User, decision: str, notes: str, from_status: str, to_status: str
) -> ComplianceReview:
    """Append a compliance decision about any subject (company, campaign, investment)."""
    return ComplianceReview.objects.create(
        content_type=ContentType.objects.get_for_model(subject),
        object_id=subject.pk,
        officer=officer,
        decision=decision,
        notes=notes,
        from_status=from_status,
        to_status=to_status,
    )


class InvalidDecision(DomainError):
    default_code = "invalid_decision"


def require_known_decision(*, decision: object, allowed: tuple[str, ...]) -> None:
    """Every review (company, campaign, investment) takes its decision from one vocabulary,
    `ReviewDecision`; `allowed` are the words this subject takes. Anything else is 400
    `invalid_decision` listing them (the input is not echoed: it may be anything)."""
    if not (isinstance(decision, str) and decision in allowed):
        valid = [str(word) for word in allowed]
        raise InvalidDecision(
            f"The decision must be one of: {', '.join(valid)}.",
            valid=valid,
            errors={"decision": [f"Use one of: {', '.join(valid)}."]},
        )


def check_decision(*, decision: str, allowed: tuple[str, ...], notes: str) -> None:
    """A compliance decision is one of `allowed`; any but approve/release needs a reason."""
    require_known_decision(decision=decision, allowed=allowed)
    if decision not in DECISIONS_WITHOUT_REASON and not notes.strip():
        raise DomainError("This decision needs a reason.", code="invalid", errors={"notes": "required"})


def reviews_of(subject: models.Model) -> models.QuerySet[ComplianceReview]:
    return ComplianceReview.objects.filter(
        content_type=ContentType.objects.get_for_model(subject), object_id=subject.pk
    ).select_related("officer")


def clean_company_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Validate and normalise company details (the API validates first; admin and scripts rely on this)."""
    cleaned = dict(fields)
    errors: dict[str, str] = {}
    for name in ("legal_name", "registration_number"):
        if name in cleaned:
            cleaned[name] = " ".join(str(cleaned[name] or "").split())
            if not cleaned[name]:
                errors[name] = "This field may not be blank."
    if "registration_number" in cleaned and not re.fullmatch(
        r"[A-Za-z0-9./ -]{1,64}", cleaned["registration_number"]
    ):
        errors["registration_number"] = "Use up to 64 letters, digits, spaces, dots, slashes and hyphens."
    if "country" in cleaned:
        country = pycountry.countries.get(alpha_2=str(cleaned["country"] or "").upper())
        if country is None:
            errors["country"] = "Enter an ISO 3166-1 alpha-2 country code, e.g. DE."
        else:
            cleaned["country"] = country.alpha_2
    if "wallet_address" in cleaned:
        try:
            cleaned["wallet_address"] = normalize_address(cleaned["wallet_address"])
        except InvalidAddress as exc:
            errors["wallet_address"] = str(exc)
    if "document_cid" in cleaned and not re.fullmatch(CID_PATTERN, str(cleaned["document_cid"] or "")):
        errors["document_cid"] = "Enter an IPFS CID (v0 'Qm…' or base32 v1 'b…')."
    if errors:
        raise DomainError(
            "Invalid company details: " + "; ".join(errors.values()), code="invalid", errors=errors
        )
    return cleaned


def _save_unique(company: Company) -> None:
    try:
        with transaction.atomic():
            company.save()
    except IntegrityError as exc:
        text = str(exc)
        if "registration_unique_per_country" in text:
            raise DomainError(
                "A company with this registration number is already registered in this country.",
                code="duplicate_company",
                errors={"registration_number": "Already registered in this country."},
            ) from None
        if "wallet_address" in text:
            raise DomainError(
                "This wallet already belongs to a company.",
                code="duplicate_wallet",
                errors={"wallet_address": "Already used by another company."},
            ) from None
        raise


def create_company(
    *,
    owner: User,
    legal_name: str,
    registration_number: str,
    country: str,
    wallet_address: str,
    document_cid: str,
    wallet_proof: WalletProof | None,
) -> Company:
    """Register an issuer company for KYB review (`kyb_status: pending`).

    The owner proves the company wallet (`wallet_proof`, accounts.wallet_proof) before anything is
    saved: no one registers a wallet they do not hold, so a KYB credential for that wallet (issued
    before or after) is linked to the company of the wallet's holder only.
    """
    fields = clean_company_fields(
        {
            "legal_name": legal_name,
            "registration_number": registration_number,
            "country": country,
            "wallet_address": wallet_address,
            "document_cid": document_cid,
        }
    )
    with transaction.atomic():
        challenge = prove_wallet(user=owner, address=fields["wallet_address"], proof=wallet_proof)
        company = Company(owner=owner, wallet_proven_at=challenge.used_at, **fields)
        _save_unique(company)
        company_wallet_proven.send(sender=Company, company=company)
    return company


def update_company(
    *, company: Company, actor: User, wallet_proof: WalletProof | None = None, **changes: Any
) -> Company:
    """The owner corrects details while KYB is pending, or after a rejection (which resubmits it).

    A new wallet needs its proof (`wallet_proof`), as at creation; a company registered before proofs
    existed may send one for its current wallet.
    """
    with transaction.atomic():
        locked = Company.objects.select_for_update().get(pk=company.pk)
        if locked.owner_id != actor.pk:
            raise NotAllowed("Only the company's owner may change it.")
        if locked.kyb_status == KybStatus.APPROVED:
            raise StateConflict(
                "The company's KYB is approved; its details can no longer change.",
                code="company_approved",
                kyb_status=locked.kyb_status,
            )
        cleaned = clean_company_fields({k: v for k, v in changes.items() if k in EDITABLE_FIELDS})
        wallet = cleaned.get("wallet_address", locked.wallet_address)
        proving = wallet != locked.wallet_address or (
            wallet_proof is not None and locked.wallet_proven_at is None
        )
        if proving:
            locked.wallet_proven_at = prove_wallet(user=actor, address=wallet, proof=wallet_proof).used_at
        for name, value in cleaned.items():
            setattr(locked, name, value)
        if locked.kyb_status == KybStatus.REJECTED:
            locked.kyb_status = KybStatus.PENDING  # resubmitted for review
        _save_unique(locked)
        if proving:
            company_wallet_proven.send(sender=Company, company=locked)
    return locked


def review_company(*, company: Company, officer: User, decision: str, notes: str = "") -> Company:
    """Compliance decides on a pending KYB. Approval registers the wallet on chain (registerIssuer,
    with the KYB credential's fingerprint); rejection needs a reason."""
    check_decision(
        decision=decision,
        allowed=(ReviewDecision.APPROVE, ReviewDecision.REJECT),
        notes=notes,
    )
    with transaction.atomic():
        locked = Company.objects.select_for_update().get(pk=company.pk)
        if locked.kyb_status != KybStatus.PENDING:
            raise StateConflict(
                f"The company's KYB is {locked.kyb_status}; only a pending one can be reviewed.",
                code="invalid_transition",
                kyb_status=locked.kyb_status,
                allowed_from=[KybStatus.PENDING],
            )
        previous = locked.kyb_status
        locked.reviewed_by = officer
        locked.reviewed_at = clock.now()
        if decision == ReviewDecision.APPROVE:
            credential = kyb_credential_for(locked)
            locked.kyb_status = KybStatus.APPROVED
            locked.kyb_credential_id = credential.credential_id if credential else ""
            locked.kyb_credential_fingerprint = (
                credential.fingerprint if credential else kyb_record_fingerprint(locked)
            )
            locked.rejection_reason = ""
            locked.registration_status = RegistrationStatus.REGISTERING
            locked.register_attempt += 1
            declare(locked, REGISTER_KIND)
        else:
            locked.kyb_status = KybStatus.REJECTED
            locked.rejection_reason = notes.strip()
        locked.save()  # post_save enqueues the declared registerIssuer
        record_review(
            subject=locked,
            officer=officer,
            decision=decision,
            notes=notes,
            from_status=previous,
            to_status=locked.kyb_status,
        )
    return locked


def request_registration(*, company: Company) -> tuple[Company, bool]:
    """Queue registerIssuer again after a failure. Idempotent: (company, queued_now)."""
    with transaction.atomic():
        locked = Company.objects.select_for_update().get(pk=company.pk)
        if locked.registration_status in (RegistrationStatus.REGISTERING, RegistrationStatus.REGISTERED):
            return locked, False
        if locked.kyb_status != KybStatus.APPROVED:
            raise StateConflict(
                "Only a KYB-approved company can be registered on chain.", code="invalid_transition"
            )
        locked.registration_status = RegistrationStatus.REGISTERING
        locked.register_attempt += 1
        locked.last_chain_error = ""
        declare(locked, REGISTER_KIND)
        locked.save()
    return locked, True


# --- failed intents (the outbox's failure hook calls this) -------------------------------------------


def registration_failed(*, company_id: int, error_code: str) -> None:
    company = Company.objects.select_for_update().filter(pk=company_id).first()
    if company is None or company.registration_status != RegistrationStatus.REGISTERING:
        return
    company.registration_status = RegistrationStatus.FAILED
    company.last_chain_error = f"registerIssuer failed: {error_code}"[:300]
    company.save()
