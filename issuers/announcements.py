"""What partners hear about companies (webhooks): KYB approval and on-chain registration."""

from __future__ import annotations

from typing import Any

from issuers.models import Company, KybStatus, RegistrationStatus
from webhooks.announcers import Announcer, Facts


def _facts(pks: list[Any]) -> dict[Any, dict[str, Any]]:
    """KYB status and the registration as the API shows it (`onchain.status`: `registering` until
    registerIssuer is confirmed, even when the indexer saw IssuerRegistered first)."""
    from issuers.serializers import CompanySerializer

    shown = CompanySerializer()
    return {
        company.pk: {
            "kyb_status": company.kyb_status,
            "registration_status": shown.get_onchain(company)["status"],
        }
        for company in Company.objects.filter(pk__in=pks)
    }


def _classify(before: Facts | None, after: Facts) -> str | None:
    told = before or {}
    registration, kyb = after["registration_status"], after["kyb_status"]
    if told.get("registration_status") != registration:
        if registration == RegistrationStatus.REGISTERED:
            return "company.registered"
        if told.get("registration_status") == RegistrationStatus.REGISTERED:
            return "company.updated"  # revoked on chain, or a reorg undid the registration
    if kyb == KybStatus.APPROVED and told.get("kyb_status") != KybStatus.APPROVED:
        return "company.kyb_approved"
    return None


def _company(pk: Any) -> dict:
    from issuers.serializers import CompanySerializer

    return CompanySerializer(Company.objects.select_related("owner", "reviewed_by").get(pk=pk)).data


COMPANIES = Announcer(
    model=Company,
    facts=_facts,
    classify=_classify,
    represent=_company,
    event_types=frozenset(["company.kyb_approved", "company.registered", "company.updated"]),
)
