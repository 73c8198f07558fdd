"""What partners hear about companies (webhooks): KYB approval and on-chain registration."""

from __future__ import annotations

from typing import Any

from issuers.models import Company, KybStatus, RegistrationStatus
from webhooks.announcers import Announcer, Facts


def _facts(pks: list[Any]) -> dict[Any, dict[str, Any]]:
    rows = Company.objects.filter(pk__in=pks).values_list("pk", "kyb_status", "registration_status")
    return {pk: {"kyb_status": kyb, "registration_status": reg} for pk, kyb, reg in rows}


def _classify(before: Facts | None, after: Facts) -> str | None:
    told = before or {}
    registration, kyb = after["registration_status"], after["kyb_status"]
    if told.get("registration_status") != registration:
        if registration == RegistrationStatus.REGISTERED:
            return "company.registered"
        if before is not None:  # revoked, failed, or a reorg undid the registration
            return "company.updated"
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
