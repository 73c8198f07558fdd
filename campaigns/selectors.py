"""Campaign reads, scoped to who asks."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Q, QuerySet

from accounts.models import User
from blockchain.selectors import chain_transactions_prefetch
from campaigns.models import PUBLIC_STATUSES, Campaign, CampaignStatus, Investment, ShareCertificate
from core.months import month_bounds


def campaigns_for(user: User) -> QuerySet[Campaign]:
    """Everyone sees active and successful campaigns; an issuer also every campaign of its own
    companies; compliance officers and operators see all."""
    campaigns = Campaign.objects.select_related("issuer").prefetch_related(chain_transactions_prefetch())
    if user.is_authenticated and user.has_role("compliance", "operator"):
        return campaigns
    public = Q(status__in=PUBLIC_STATUSES)
    if user.is_authenticated and user.has_role("issuer"):
        return campaigns.filter(public | Q(issuer__owner=user))
    return campaigns.filter(public)


def review_queue() -> QuerySet[Campaign]:
    return Campaign.objects.filter(status=CampaignStatus.PENDING_REVIEW).order_by("submitted_at")


def sees_aml(user: User) -> bool:
    """Whether `user` may see an investment's AML flags and rejection notes: compliance and
    operators only. Never the investor (no tipping off)."""
    return user.is_authenticated and user.has_role("compliance", "operator")


def investments_for(user: User) -> QuerySet[Investment]:
    """Compliance and operators see every investment; an investor their own."""
    investments = Investment.objects.select_related("campaign", "investor").prefetch_related(
        "alerts", chain_transactions_prefetch()
    )
    if user.is_authenticated and user.has_role("compliance", "operator"):
        return investments
    if user.is_authenticated and user.has_role("investor"):
        return investments.filter(investor=user)
    return investments.none()


def certificates_for(user: User) -> QuerySet[ShareCertificate]:
    """Compliance and operators see every certificate; an investor the ones their wallet holds (or,
    before the mint, the ones their investments will receive)."""
    certificates = ShareCertificate.objects.select_related("campaign", "investment").prefetch_related(
        chain_transactions_prefetch("campaign__chain_transactions")
    )
    if user.is_authenticated and user.has_role("compliance", "operator"):
        return certificates
    if user.is_authenticated and user.has_role("investor"):
        held = Q(owner="", investment__investor=user)
        if user.wallet_verified and user.wallet_address:
            held |= Q(owner=user.wallet_address)
        return certificates.filter(held)
    return certificates.none()


def compliance_rows(*, month) -> Iterator[dict]:
    """The monthly compliance report: every investment made in `month` (a date in it), with its AML
    alerts, compliance decisions and on-chain transactions."""
    from django.contrib.contenttypes.models import ContentType

    from issuers.models import ComplianceReview

    start, end = month_bounds(month)
    investments = (
        Investment.objects.filter(created_at__date__gte=start, created_at__date__lt=end)
        .select_related("campaign", "investor")
        .prefetch_related("alerts")
        .order_by("created_at", "id")
    )
    content_type = ContentType.objects.get_for_model(Investment)
    for chunk_start in range(0, investments.count(), 1000):
        chunk = list(investments[chunk_start : chunk_start + 1000])
        decisions: dict[int, list[ComplianceReview]] = {}
        for review in ComplianceReview.objects.filter(
            content_type=content_type, object_id__in=[i.pk for i in chunk]
        ).select_related("officer"):
            decisions.setdefault(review.object_id, []).append(review)
        for investment in chunk:
            reviews = decisions.get(investment.pk, [])
            yield {
                "investment_id": investment.pk,
                "created_at": investment.created_at.isoformat(),
                "campaign_id": investment.campaign_id,
                "campaign": investment.campaign.title,
                "investor": investment.investor.username,
                "wallet": investment.investor_wallet,
                "amount": f"{investment.amount:f}",
                "status": investment.status,
                "aml_alerts": ";".join(f"{a.rule}:{a.score}" for a in investment.alerts.all()),
                "decisions": ";".join(
                    f"{r.decision} by {r.officer.username} at {r.created_at:%Y-%m-%dT%H:%M:%SZ}"
                    + (f" ({r.notes})" if r.notes else "")
                    for r in reviews
                ),
                "record_tx": investment.recorded_tx_hash,
                "cancel_tx": investment.cancelled_tx_hash,
                "rejection_reason": investment.rejection_reason,
                "rejection_notes": investment.rejection_notes,
            }
