"""Company reads, scoped to who asks."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from blockchain.selectors import chain_transactions_prefetch
from issuers.models import Company, KybStatus


def companies_for(user: User) -> QuerySet[Company]:
    """Compliance officers and operators see every company; an issuer sees its own."""
    companies = Company.objects.select_related("owner", "reviewed_by").prefetch_related(
        chain_transactions_prefetch()
    )
    if not user.is_authenticated:
        return companies.none()
    if user.has_role("compliance", "operator"):
        return companies
    if user.has_role("issuer"):
        return companies.filter(owner=user)
    return companies.none()


def review_queue() -> QuerySet[Company]:
    return Company.objects.filter(kyb_status=KybStatus.PENDING).order_by("created_at")
