"""What partners hear about campaigns, investments and certificates (webhooks): the status the API
shows (which follows the chain), named as shared/API.md lists the events."""

from __future__ import annotations

from typing import Any

from campaigns import selectors
from campaigns.models import Campaign, CertificateStatus, Investment, ShareCertificate
from webhooks.announcers import Announcer, Facts, status_announcer

CAMPAIGN_EVENTS = {
    "active": "campaign.active",
    "successful": "campaign.successful",
    "failed": "campaign.failed",
    "cancelled": "campaign.cancelled",
}
INVESTMENT_EVENTS = {
    "held_for_review": "investment.held",
    "confirmed": "investment.confirmed",
    "rejected": "investment.rejected",
    "cancelled": "investment.cancelled",
    "refunded": "investment.refunded",
}


def _campaign(pk: Any) -> dict:
    from campaigns.serializers import CampaignSerializer

    return CampaignSerializer(
        selectors.with_shown_status(Campaign.objects.select_related("issuer")).get(pk=pk)
    ).data


def _investment(pk: Any) -> dict:
    # The investor's view of it plus the operator's reads: staff-only AML findings and officer notes
    # never leave the platform in a webhook (no tipping off).
    from campaigns.serializers import InvestmentSerializer

    row = selectors.with_shown_investment_status(
        Investment.objects.select_related("campaign", "investor")
    ).get(pk=pk)
    return InvestmentSerializer(row).data


def _certificate(pk: Any) -> dict:
    from campaigns.serializers import ShareCertificateSerializer

    return ShareCertificateSerializer(
        ShareCertificate.objects.select_related("campaign", "investment").get(pk=pk)
    ).data


def _certificate_facts(pks: list[Any]) -> dict[Any, dict[str, Any]]:
    rows = ShareCertificate.objects.filter(pk__in=pks).values_list("pk", "status", "owner", "token_id")
    return {pk: {"status": status, "owner": owner, "token_id": token} for pk, status, owner, token in rows}


def _classify_certificate(before: Facts | None, after: Facts) -> str | None:
    minted = after["status"] == CertificateStatus.MINTED
    if before is None:
        return "certificate.minted" if minted else None
    if before.get("status") != after["status"] or before.get("token_id") != after["token_id"]:
        return "certificate.minted" if minted else "certificate.updated"
    if minted and before.get("owner") != after["owner"]:
        return "certificate.transferred"
    return None


CAMPAIGNS = status_announcer(
    model=Campaign,
    noun="campaign",
    named=CAMPAIGN_EVENTS,
    annotate=selectors.with_shown_status,
    represent=_campaign,
)
INVESTMENTS = status_announcer(
    model=Investment,
    noun="investment",
    named=INVESTMENT_EVENTS,
    annotate=selectors.with_shown_investment_status,
    represent=_investment,
)
CERTIFICATES = Announcer(
    model=ShareCertificate,
    facts=_certificate_facts,
    classify=_classify_certificate,
    represent=_certificate,
    event_types=frozenset(["certificate.minted", "certificate.transferred", "certificate.updated"]),
)
