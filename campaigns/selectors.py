"""Campaign reads, scoped to who asks."""

from __future__ import annotations

from collections.abc import Iterator

from django.contrib.contenttypes.models import ContentType
from django.db import connections, router
from django.db.models import Q, QuerySet

from accounts.models import User
from blockchain.models import ChainTransaction
from blockchain.selectors import (
    PREFETCHED_TRANSACTIONS,
    SUMMARY_FIELDS,
    InFlight,
    Requested,
    ShownRule,
    chain_transactions_prefetch,
    derive_shown_status,
    shown_status_annotation,
)
from campaigns.models import (
    PUBLIC_STATUSES,
    Campaign,
    CampaignStatus,
    Investment,
    InvestmentStatus,
    ShareCertificate,
)
from campaigns.onchain.intents import CANCEL_KIND, CREATE_KIND, FINALIZE_KIND, RECORD_KIND
from core.months import month_bounds
from core.rows import JsonRows, RowReader, prepared_cursor
from issuers.models import Company

S, I = CampaignStatus, InvestmentStatus  # noqa: E741

# Statuses the API shows that are not stored: the stored one is already the outcome, but the
# transaction that makes it so is still on its way (DESIGN: a status never runs ahead of its `chain`).
CLOSING, CANCELLING = "closing", "cancelling"
SHOWN_CAMPAIGN_STATUSES = [*S.values, CLOSING, CANCELLING]
SHOWN_INVESTMENT_STATUSES = [*I.values, CANCELLING]


# What each shows and filters (one table per model, evaluated in SQL and in Python: see
# blockchain.selectors.ShownRule). A campaign: `deploying` until createCampaign is confirmed (the
# indexer may see CampaignCreated first), `closing` while finalize() is on its way, `cancelling`
# while the finalize() of a cancelled live campaign is.
CAMPAIGN_SHOWN_STATUS_RULES = (
    ShownRule(S.DEPLOYING, (S.ACTIVE,), InFlight((CREATE_KIND,))),
    ShownRule(CANCELLING, (S.CANCELLED,), InFlight((FINALIZE_KIND,))),
    ShownRule(CLOSING, (S.ACTIVE, S.SUCCESSFUL, S.FAILED), InFlight((FINALIZE_KIND,))),
)
# An investment: `cancelling` from the investor's cancel until cancelInvestment is confirmed, and
# `recording` until recordInvestment is (the indexer may see InvestmentRecorded before the receipt is).
INVESTMENT_SHOWN_STATUS_RULES = (
    ShownRule(CANCELLING, (I.CONFIRMED,), Requested("cancel_requested_at")),
    ShownRule(CANCELLING, (I.CANCELLED,), InFlight((CANCEL_KIND,))),
    ShownRule(I.RECORDING, (I.CONFIRMED,), InFlight((RECORD_KIND,))),
)


def with_shown_status(campaigns: QuerySet[Campaign]) -> QuerySet[Campaign]:
    """Annotate `shown_status` (CAMPAIGN_SHOWN_STATUS_RULES in SQL): for filtering by status and for
    the webhook announcers. The API's reads derive it from the prefetched outbox rows instead."""
    return campaigns.annotate(shown_status=shown_status_annotation(Campaign, CAMPAIGN_SHOWN_STATUS_RULES))


def campaigns_for(user: User) -> QuerySet[Campaign]:
    """Everyone sees active and successful campaigns; an issuer also every campaign of its own
    companies; compliance officers and operators see all."""
    # No `shown_status` annotation: `shown_status()` derives it from the prefetched outbox rows (a
    # filter by status annotates: views.CampaignFilter).
    campaigns = Campaign.objects.select_related("issuer").prefetch_related(chain_transactions_prefetch())
    if user.is_authenticated and user.has_role("compliance", "operator"):
        return campaigns
    public = Q(status__in=PUBLIC_STATUSES)
    if user.is_authenticated and user.has_role("issuer"):
        return campaigns.filter(public | Q(issuer__owner=user))
    return campaigns.filter(public)


# --- the first page of the list, one statement (GET /api/campaigns/) ------------------------------
#
# The list's queryset costs three statements the ORM builds and compiles on every request: the count,
# the page (campaign + issuer), the outbox rows. `first_campaign_page` reads the same page with the
# same visibility and order in one statement built once per process: the page's rows with their
# issuer, the total in a window count, and each row's outbox rows (SUMMARY_FIELDS) as JSON. It gives
# the instances `campaigns_for` would (issuer cached, `PREFETCHED_TRANSACTIONS` set), so every field
# of the representation is computed by the same code; tests compare the two reads.

_PAGE_CAMPAIGN = RowReader(Campaign, [f.attname for f in Campaign._meta.concrete_fields])
_PAGE_ISSUER = RowReader(Company, [f.attname for f in Company._meta.concrete_fields])
_PAGE_OUTBOX = JsonRows(ChainTransaction, SUMMARY_FIELDS)


class _FirstCampaignPage:
    def __init__(self) -> None:
        self.sql: dict[tuple[str, str], str] = {}

    def _sql(self, alias: str, scope: str) -> str:
        sql = self.sql.get((alias, scope))
        if sql is not None:
            return sql
        q = connections[alias].ops.quote_name
        campaign, company = Campaign._meta, Company._meta
        c_pk, c_issuer = q(campaign.pk.column), q(campaign.get_field("issuer").column)
        c_created = q(campaign.get_field("created_at").column)
        columns = _PAGE_CAMPAIGN.columns(alias, "c") + _PAGE_ISSUER.columns(alias, "i")
        names = [f"v{n}" for n in range(len(columns))]
        # Meta.ordering (-created_at, -id): the inner page's two sort keys are its first columns.
        inner = [f"c.{c_created}", f"c.{c_pk}", *columns, "COUNT(*) OVER ()"]
        where = {
            "all": "TRUE",
            "public": f"c.{q(campaign.get_field('status').column)} = ANY(%s)",
            "public_or_own": f"(c.{q(campaign.get_field('status').column)} = ANY(%s) "
            f"OR i.{q(company.get_field('owner').column)} = %s)",
        }[scope]
        outbox = _PAGE_OUTBOX.sql(
            alias,
            where=f"{_PAGE_OUTBOX.column(alias, 'content_type')} = %s "
            f"AND {_PAGE_OUTBOX.column(alias, 'object_id')} = p.v{_PAGE_CAMPAIGN.names.index('id')}",
        )
        selected = ", ".join(f"p.{name}" for name in names)
        aliased = ", ".join(
            f"{expr} AS {name}" for expr, name in zip(inner, ["k0", "k1", *names, "total"], strict=True)
        )
        tables = (
            f"{q(campaign.db_table)} c INNER JOIN {q(company.db_table)} i "
            f"ON i.{q(company.pk.column)} = c.{c_issuer}"
        )
        # Names come from the models' _meta, quoted; values are parameters.
        sql = (
            f"SELECT {selected}, p.total, {outbox} FROM (SELECT {aliased} FROM {tables} "  # noqa: S608  # nosec B608
            f"WHERE {where} ORDER BY c.{c_created} DESC, c.{c_pk} DESC LIMIT %s) p "
            "ORDER BY p.k0 DESC, p.k1 DESC"
        )
        self.sql[(alias, scope)] = sql
        return sql

    def __call__(self, user: User, *, size: int) -> tuple[list[Campaign], int]:
        alias = router.db_for_read(Campaign)
        if connections[alias].vendor != "postgresql":  # JSON aggregates: PostgreSQL's (SQLite: `make run`)
            rows = campaigns_for(user)
            return list(rows[:size]), rows.count()
        public = [str(s) for s in PUBLIC_STATUSES]
        if user.is_authenticated and user.has_role("compliance", "operator"):
            scope, where_params = "all", []
        elif user.is_authenticated and user.has_role("issuer"):
            scope, where_params = "public_or_own", [public, user.pk]
        else:
            scope, where_params = "public", [public]
        content_type = ContentType.objects.db_manager(alias).get_for_model(Campaign).pk
        params = [content_type, *where_params, size]
        with prepared_cursor(alias) as cursor:
            cursor.execute(self._sql(alias, scope), params)
            fetched = cursor.fetchall()
        page, total = [], 0
        n, m = len(_PAGE_CAMPAIGN), len(_PAGE_CAMPAIGN) + len(_PAGE_ISSUER)
        read_campaign, read_issuer = _PAGE_CAMPAIGN.reader(alias), _PAGE_ISSUER.reader(alias)
        read_outbox, cache_issuer = _PAGE_OUTBOX.reader(alias), Campaign.issuer.field.set_cached_value
        for row in fetched:
            campaign = read_campaign(row[:n])
            cache_issuer(campaign, read_issuer(row[n:m]))
            setattr(campaign, PREFETCHED_TRANSACTIONS, read_outbox(row[m + 1]))
            total = row[m]
            page.append(campaign)
        return page, total


first_campaign_page = _FirstCampaignPage()
"""`first_campaign_page(user, size=n)`: the first `n` campaigns of `campaigns_for(user)` (in its
order, with what the API shows of them) and how many that queryset has, in one statement."""


def review_queue() -> QuerySet[Campaign]:
    return Campaign.objects.filter(status=CampaignStatus.PENDING_REVIEW).order_by("submitted_at")


def sees_aml(user: User) -> bool:
    """Whether `user` may see an investment's AML flags and rejection notes: compliance and
    operators only. Never the investor (no tipping off)."""
    return user.is_authenticated and user.has_role("compliance", "operator")


def with_shown_investment_status(investments: QuerySet[Investment]) -> QuerySet[Investment]:
    """Annotate `shown_status` (INVESTMENT_SHOWN_STATUS_RULES in SQL): for filtering by status and for
    the webhook announcers. The API's reads derive it from the prefetched outbox rows instead."""
    return investments.annotate(
        shown_status=shown_status_annotation(Investment, INVESTMENT_SHOWN_STATUS_RULES)
    )


def shown_status(row: Campaign | Investment) -> str:
    """The status the API shows for `row`: the `shown_status` annotation when the row has it (a
    filtered list), else the rules over the outbox rows read with it (`campaigns_for`,
    `investments_for`), else read again through a selector above (a row a service returned)."""
    annotated = getattr(row, "shown_status", None)
    if annotated is not None:
        return annotated
    campaign = isinstance(row, Campaign)
    derived = derive_shown_status(
        row, CAMPAIGN_SHOWN_STATUS_RULES if campaign else INVESTMENT_SHOWN_STATUS_RULES
    )
    if derived is not None:
        return derived
    annotate = with_shown_status if campaign else with_shown_investment_status
    rows = type(row).objects.filter(pk=row.pk)
    return annotate(rows).values_list("shown_status", flat=True).first() or row.status


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


def certificate_metadata(*, token_id: int) -> dict | None:
    """The ERC-721 metadata document of a minted certificate (what `tokenURI` points at), or None.

    Public, like the token itself: the issuer, the campaign and the shares, never the holder's
    identity or any amount paid."""
    from campaigns.models import CertificateStatus, ShareCertificate

    certificate = (
        ShareCertificate.objects.select_related("campaign__issuer")
        .filter(token_id=token_id, status=CertificateStatus.MINTED)
        .first()
    )
    if certificate is None:
        return None
    campaign = certificate.campaign
    issuer = campaign.issuer.legal_name
    return {
        "name": f"{issuer}: {certificate.shares:,} shares (certificate #{token_id})",
        "description": (
            f"ERC-721 share certificate for {certificate.shares:,} shares of {issuer}, "
            f"issued through the campaign “{campaign.title}” on LedgerBridge."
        ),
        "attributes": [
            {"trait_type": "Issuer", "value": issuer},
            {"trait_type": "Issuer country", "value": campaign.issuer.country},
            {"trait_type": "Campaign", "value": campaign.title},
            {"trait_type": "Campaign contract", "value": campaign.contract_address},
            {"trait_type": "Shares", "value": certificate.shares, "display_type": "number"},
        ],
    }
