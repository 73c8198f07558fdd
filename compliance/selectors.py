"""Reads for the compliance dashboard in the admin (config/admin_dashboard.py).

Every section costs a fixed number of queries whatever the amount of data, and nothing here calls
the chain: the head, the signer's balance and the indexer's cursors are what the confirmer and the
indexer last stored (DB rows and the cache), so the page renders the same when the node is down.
Admin links are only given for models the viewer may see, so a link never leads to a 403.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Count, F, Max, Min
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.http import urlencode

from blockchain.admin import address_link, subject_admin_url, tx_link
from blockchain.models import (
    ChainSyncState,
    ChainTransaction,
    ReconcileReport,
    TxStatus,
    WatchedContract,
)
from blockchain.selectors import OutboxHealth, latest_reconcile_report, outbox_health, sync_status
from campaigns.models import CAMPAIGN_CURRENCY as CURRENCY
from campaigns.models import AMLAlert, AMLRule, Campaign, CampaignStatus, Investment, InvestmentStatus
from core.admin_tools import money
from issuers.models import Company, KybStatus
from loans.models import Loan, LoanVerificationReport

PREVIEW_ROWS = 5  # rows shown per queue, failures and drift lists; the changelist has the rest
ERROR_PREVIEW_CHARS = 200


@dataclass(frozen=True)
class QueueRow:
    label: str
    detail: str
    waiting_since: datetime | None
    url: str | None


@dataclass(frozen=True)
class ReviewQueue:
    key: str
    title: str
    count: int
    oldest_at: datetime | None
    rows: list[QueueRow]
    url: str | None


@dataclass(frozen=True)
class AlertGroup:
    rule: str
    label: str
    alerts: int
    investments: int
    top_score: int
    oldest_at: datetime
    url: str | None


@dataclass(frozen=True)
class Cursor:
    artifact: str
    contracts: int
    address: str  # rendered explorer link when one contract has this artifact, else ""
    next_block: int  # the first block not indexed yet (the slowest contract's, for clones)
    lag_blocks: int | None


@dataclass(frozen=True)
class Failure:
    id: int
    kind: str
    call: str
    error_code: str
    error: str
    tx: str  # rendered explorer link, or the plain hash, or "" when never broadcast
    failed_at: datetime | None
    url: str | None
    subject: str = ""  # the domain row the transaction was for, e.g. "campaign #12"
    subject_url: str | None = None  # its admin page, where the viewer may see it


@dataclass(frozen=True)
class StatusCount:
    status: str
    count: int
    url: str | None


class _Links:
    """Admin URLs for one viewer: None where the viewer lacks the view permission."""

    def __init__(self, user) -> None:
        self.user = user

    def _allowed(self, model: type[models.Model]) -> bool:
        opts = model._meta
        return self.user.has_perm(f"{opts.app_label}.view_{opts.model_name}")

    def changelist(self, model: type[models.Model], **filters: Any) -> str | None:
        if not self._allowed(model):
            return None
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        return f"{url}?{urlencode(filters)}" if filters else url

    def change(self, obj: models.Model) -> str | None:
        return self.change_by_pk(type(obj), obj.pk)

    def change_by_pk(self, model: type[models.Model], pk: Any) -> str | None:
        if pk is None or not self._allowed(model):
            return None
        return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[pk])


def _queue(
    *,
    key: str,
    title: str,
    rows: models.QuerySet,
    url: str | None,
    describe: Callable[[Any], tuple[str, str]],
    links: _Links,
) -> ReviewQueue:
    """Two queries: the count with the oldest waiting time, then the oldest few rows. `rows` is
    annotated with `waiting_since`."""
    summary = rows.aggregate(count=Count("id"), oldest=Min("waiting_since"))
    preview = list(rows.order_by("waiting_since", "id")[:PREVIEW_ROWS]) if summary["count"] else []
    shown = []
    for obj in preview:
        label, detail = describe(obj)
        shown.append(
            QueueRow(label=label, detail=detail, waiting_since=obj.waiting_since, url=links.change(obj))
        )
    return ReviewQueue(
        key=key, title=title, count=summary["count"], oldest_at=summary["oldest"], rows=shown, url=url
    )


def _amount(value: Decimal) -> str:
    """Amounts are stored with 6 decimals; people read 20,000.00 USD, not 20000.000000."""
    return money(value, CURRENCY)


def _describe_campaign(campaign: Campaign) -> tuple[str, str]:
    terms = f"goal {_amount(campaign.goal)}, hard cap {_amount(campaign.hard_cap)}"
    return campaign.title, f"{campaign.issuer.legal_name}; {terms}"


def _describe_investment(investment: Investment) -> tuple[str, str]:
    labels = dict(AMLRule.choices)
    rules = (
        ", ".join(sorted({labels.get(a.rule, a.rule) for a in investment.alerts.all()})) or "—"
    )  # prefetched
    return (
        f"{_amount(investment.amount)} in {investment.campaign.title}",
        f"by {investment.investor.username}; AML: {rules}",
    )


def review_queues(*, links: _Links) -> list[ReviewQueue]:
    """Companies awaiting KYB review, campaigns awaiting approval, investments held by AML rules."""
    companies = Company.objects.filter(kyb_status=KybStatus.PENDING).annotate(waiting_since=F("created_at"))
    # A campaign waits from its submission (submit_campaign sets submitted_at); created_at only keeps
    # a row without one from sorting first.
    campaigns = (
        Campaign.objects.filter(status=CampaignStatus.PENDING_REVIEW)
        .select_related("issuer")
        .annotate(waiting_since=Coalesce("submitted_at", "created_at"))
    )
    held = (
        Investment.objects.filter(status=InvestmentStatus.HELD_FOR_REVIEW)
        .select_related("campaign", "investor")
        .prefetch_related("alerts")
        .annotate(waiting_since=F("created_at"))
    )
    return [
        _queue(
            key="companies",
            title="Companies awaiting KYB review",
            rows=companies,
            url=links.changelist(Company, queue="pending"),
            describe=lambda c: (c.legal_name, f"{c.country} {c.registration_number}"),
            links=links,
        ),
        _queue(
            key="campaigns",
            title="Campaigns pending review",
            rows=campaigns,
            url=links.changelist(Campaign, status__exact=CampaignStatus.PENDING_REVIEW),
            describe=_describe_campaign,
            links=links,
        ),
        _queue(
            key="investments",
            title="Investments held for AML review",
            rows=held,
            url=links.changelist(Investment, queue="held"),
            describe=_describe_investment,
            links=links,
        ),
    ]


def open_alerts(*, links: _Links) -> list[AlertGroup]:
    """AML alerts still waiting for a decision (their investment is held), grouped by rule."""
    groups = (
        AMLAlert.objects.filter(investment__status=InvestmentStatus.HELD_FOR_REVIEW)
        .values("rule")
        .annotate(
            alerts=Count("id"),
            investments=Count("investment", distinct=True),
            top_score=Max("score"),
            oldest_at=Min("created_at"),
        )
        .order_by("-alerts", "rule")
    )
    labels = dict(AMLRule.choices)
    return [
        AlertGroup(
            rule=g["rule"],
            label=labels.get(g["rule"], g["rule"]),
            alerts=g["alerts"],
            investments=g["investments"],
            top_score=g["top_score"],
            oldest_at=g["oldest_at"],
            # The investment changelist filters on both (its list_filter allows alerts__rule).
            url=links.changelist(Investment, queue="held", alerts__rule=g["rule"]),
        )
        for g in groups
    ]


def chain_sync(*, chain_id: int, links: _Links, health: OutboxHealth, report) -> dict[str, Any]:
    """The indexer's position (head, lag, per-artifact cursors) and the signer's cached balance."""
    status = sync_status(chain_id=chain_id, health=health, report=report)
    head = status["head"]
    cursors = []
    watched = (
        WatchedContract.objects.filter(chain_id=chain_id, active=True)
        .values("artifact")
        .annotate(
            contracts=Count("id"),
            cursor=Min(Coalesce("next_block", "start_block")),
            any_address=Min("address"),
        )
        .order_by("artifact")
    )
    for row in watched:
        # Blocks from the cursor to the head (inclusive) are still to be read for these contracts.
        lag = max(0, head - row["cursor"] + 1) if head is not None else None
        cursors.append(
            Cursor(
                artifact=row["artifact"],
                contracts=row["contracts"],
                address=address_link(row["any_address"]) if row["contracts"] == 1 else "",
                next_block=row["cursor"],
                lag_blocks=lag,
            )
        )
    signer = status["signer"]
    return {
        "head": head,
        "indexed_block": status["indexed_block"],
        "lag_blocks": status["lag_blocks"],
        "lag_limit": settings.HEALTH_MAX_INDEXER_LAG,
        "behind": status["lag_blocks"] is not None and status["lag_blocks"] > settings.HEALTH_MAX_INDEXER_LAG,
        "last_indexed_at": status["last_indexed_at"],
        "reorgs_detected": status["reorgs_detected"],
        "indexer_error": status["indexer_error"],
        "never_indexed": status["indexed_block"] is None,
        "cursors": cursors,
        "signer": {
            **signer,
            # The confirmer caches the time as ISO text.
            "balance_at": parse_datetime(signer["balance_at"]) if signer["balance_at"] else None,
            "address_link": address_link(signer["address"]) if signer["address"] else "",
            "symbol": settings.CHAIN_NATIVE_SYMBOL,
        },
        "url": links.changelist(ChainSyncState),
        "cursors_url": links.changelist(WatchedContract),
    }


def _compact(error: Any) -> str:
    if not error:
        return ""
    text = error if isinstance(error, str) else json.dumps(error, sort_keys=True, default=str)
    return text if len(text) <= ERROR_PREVIEW_CHARS else text[: ERROR_PREVIEW_CHARS - 1] + "…"


def outbox(*, chain_id: int, links: _Links, health: OutboxHealth) -> dict[str, Any]:
    """Outbox rows by status, how long the oldest queued and sent rows have waited, recent failures."""
    failed = (
        ChainTransaction.objects.filter(chain_id=chain_id, status=TxStatus.FAILED)
        .defer("raw_tx", "calldata")
        .select_related("content_type")
        .order_by(F("failed_at").desc(nulls_last=True), "-id")[:PREVIEW_ROWS]
    )
    return {
        "by_status": [
            StatusCount(status=s, count=n, url=links.changelist(ChainTransaction, status__exact=s))
            for s, n in health["by_status"].items()
        ],
        "oldest_queued_at": health["oldest_queued_at"],
        "oldest_sent_at": health["oldest_sent_at"],
        "failed": health["by_status"][TxStatus.FAILED.value],
        "failures": [
            Failure(
                id=tx.pk,
                kind=tx.kind,
                call=f"{tx.contract_name}.{tx.function}",
                error_code=tx.error_code or "failed",
                error=_compact(tx.error) or _compact(tx.last_error),
                tx=tx_link(tx.tx_hash) if tx.tx_hash else "",
                failed_at=tx.failed_at,
                url=links.change(tx),
                subject=f"{tx.content_type.name} #{tx.object_id}" if tx.content_type_id else "",
                subject_url=subject_admin_url(links.user, tx.content_type, tx.object_id),
            )
            for tx in failed
        ],
        "url": links.changelist(ChainTransaction),
    }


def drift(*, chain_id: int, links: _Links, report) -> dict[str, Any]:
    """The last reconcile (cache vs chain) and the last loan verification (DB hashes vs chain)."""
    verification = (
        LoanVerificationReport.objects.filter(chain_id=chain_id).order_by("-finished_at", "-id").first()
    )
    shown = [
        m for m in (verification.mismatches[:PREVIEW_ROWS] if verification else []) if isinstance(m, dict)
    ]
    # One query for the loans named by the preview, so each mismatch links to its loan.
    loan_pks = dict(
        Loan.objects.filter(loan_id__in=[str(m.get("loan_id", "")) for m in shown]).values_list(
            "loan_id", "pk"
        )
    )
    return {
        "reconcile": report,
        "reconcile_drift": [
            {"check": d.get("check", ""), "key": d.get("key", "")}
            for d in (report.drift[:PREVIEW_ROWS] if report else [])
            if isinstance(d, dict)
        ],
        "reconcile_url": links.change(report) if report else None,
        "reconciles_url": links.changelist(ReconcileReport),
        "verification": verification,
        "verification_mismatches": [
            {
                "loan_id": m.get("loan_id", ""),
                "problems": ", ".join(map(str, m.get("problems", []))),
                "url": links.change_by_pk(Loan, loan_pks.get(str(m.get("loan_id", "")))),
            }
            for m in shown
        ],
        "verification_url": links.change(verification) if verification else None,
        "verifications_url": links.changelist(LoanVerificationReport),
    }


def compliance_dashboard(*, user, chain_id: int | None = None) -> dict[str, Any]:
    """Every section of the dashboard, for `user` (who decides which admin links are given)."""
    chain_id = settings.CHAIN_ID if chain_id is None else chain_id
    links = _Links(user)
    # Read once, shown in two sections each.
    health = outbox_health(chain_id=chain_id)
    report = latest_reconcile_report(chain_id=chain_id)
    return {
        "queues": review_queues(links=links),
        "alerts": open_alerts(links=links),
        "chain": chain_sync(chain_id=chain_id, links=links, health=health, report=report),
        "outbox": outbox(chain_id=chain_id, links=links, health=health),
        "drift": drift(chain_id=chain_id, links=links, report=report),
        "chain_id": chain_id,
    }
