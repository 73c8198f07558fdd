"""Campaign reads, scoped to who asks."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet

from accounts.models import User
from blockchain.models import ChainTransaction
from campaigns.models import PUBLIC_STATUSES, Campaign, CampaignStatus, Investment


def campaigns_for(user: User) -> QuerySet[Campaign]:
    """Everyone sees active and successful campaigns; an issuer also every campaign of its own
    companies; compliance officers and operators see all."""
    campaigns = Campaign.objects.select_related("issuer").prefetch_related(
        Prefetch("chain_transactions", queryset=ChainTransaction.objects.order_by("-id"))
    )
    if user.is_authenticated and user.has_role("compliance", "operator"):
        return campaigns
    public = Q(status__in=PUBLIC_STATUSES)
    if user.is_authenticated and user.has_role("issuer"):
        return campaigns.filter(public | Q(issuer__owner=user))
    return campaigns.filter(public)


def review_queue() -> QuerySet[Campaign]:
    return Campaign.objects.filter(status=CampaignStatus.PENDING_REVIEW).order_by("submitted_at")


def investments_for(user: User) -> QuerySet[Investment]:
    """Compliance and operators see every investment; an investor their own."""
    investments = Investment.objects.select_related("campaign", "investor").prefetch_related(
        "alerts", Prefetch("chain_transactions", queryset=ChainTransaction.objects.order_by("-id"))
    )
    if user.is_authenticated and user.has_role("compliance", "operator"):
        return investments
    if user.is_authenticated and user.has_role("investor"):
        return investments.filter(investor=user)
    return investments.none()
