"""AML screening of an investment before anything is sent: each rule that fires is an AMLAlert.

Thresholds are settings (AML_*); the sanctioned wallets and country restrictions are lists kept in
the admin. A sanctioned wallet is rejected outright; any other alert holds the investment for review.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Q, Sum

from campaigns.models import AMLRule, CountryRestriction, Investment, InvestmentStatus, SanctionedWallet

# Screened history: everything the investor asked for, except what compliance threw out.
_HISTORY = ~Q(status=InvestmentStatus.REJECTED)


@dataclass
class Hit:
    rule: str
    score: int
    details: dict = field(default_factory=dict)


def _money(value: Decimal) -> str:
    return f"{value:f}"


def screen(investment: Investment, *, country: str) -> list[Hit]:
    """Every rule the (unsaved or just saved) investment trips, given the investor's country."""
    hits: list[Hit] = []
    amount = investment.amount
    now = investment.created_at
    large = settings.AML_LARGE_AMOUNT
    others = (
        Investment.objects.filter(investor_id=investment.investor_id)
        .filter(_HISTORY)
        .exclude(pk=investment.pk)
    )

    if SanctionedWallet.objects.filter(address=investment.investor_wallet).exists():
        hits.append(Hit(AMLRule.SANCTIONED_WALLET, 100, {"wallet": investment.investor_wallet}))

    if amount >= large:
        hits.append(Hit(AMLRule.LARGE_AMOUNT, 60, {"amount": _money(amount), "threshold": _money(large)}))

    day = others.filter(created_at__gt=now - timedelta(hours=24))
    count = day.count() + 1
    if count > settings.AML_VELOCITY_MAX_COUNT:
        hits.append(
            Hit(AMLRule.VELOCITY_COUNT, 50, {"count_24h": count, "max": settings.AML_VELOCITY_MAX_COUNT})
        )
    total = (day.aggregate(total=Sum("amount"))["total"] or Decimal(0)) + amount
    if total > settings.AML_VELOCITY_MAX_TOTAL:
        hits.append(
            Hit(
                AMLRule.VELOCITY_TOTAL,
                50,
                {"total_24h": _money(total), "max": _money(settings.AML_VELOCITY_MAX_TOTAL)},
            )
        )

    band_floor = large * (1 - settings.AML_STRUCTURING_BAND)
    if band_floor <= amount < large:
        near = (
            others.filter(
                created_at__gt=now - timedelta(days=7), amount__gte=band_floor, amount__lt=large
            ).count()
            + 1
        )
        if near >= settings.AML_STRUCTURING_COUNT:
            hits.append(
                Hit(
                    AMLRule.STRUCTURING,
                    80,
                    {"amounts_just_below_7d": near, "band": [_money(band_floor), _money(large)]},
                )
            )

    if (
        country
        and CountryRestriction.objects.filter(
            Q(campaign_id=investment.campaign_id) | Q(campaign__isnull=True), country=country
        ).exists()
    ):
        hits.append(Hit(AMLRule.RESTRICTED_COUNTRY, 70, {"country": country}))
    return hits
