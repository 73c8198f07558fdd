from decimal import Decimal
from typing import Any

import pycountry
from django.contrib import admin
from django.utils.html import format_html, format_html_join

from blockchain.admin import ReadOnlyAdmin, address_link, tx_link
from blockchain.chain.addresses import normalize_address
from campaigns import services
from campaigns.models import (
    CAMPAIGN_CURRENCY,
    AMLAlert,
    AMLRule,
    Campaign,
    CampaignStatus,
    CountryRestriction,
    Investment,
    InvestmentStatus,
    RejectionReason,
    SanctionedWallet,
    ShareCertificate,
)
from core.admin_tools import Decision, apply_to_each, money, money_display
from issuers.admin import ReviewedAdmin
from issuers.admin_actions import compliance_decision
from issuers.models import ReviewDecision

CURRENCY = CAMPAIGN_CURRENCY


def usd(value: Decimal | str | None) -> str:
    return money(value, CURRENCY)


# --- AML findings in words ---------------------------------------------------------------------------


def _country(code: str) -> str:
    country = pycountry.countries.get(alpha_2=str(code).upper()) if code else None
    return f"{country.name} ({country.alpha_2})" if country else str(code)


def _large_amount(d: dict) -> str:
    return f"{usd(d['amount'])} in 1 investment, at or above the {usd(d['threshold'])} threshold"


def _velocity_count(d: dict) -> str:
    return f"{int(d['count_24h'])} investments within 24 h, more than the {int(d['max'])} allowed"


def _velocity_total(d: dict) -> str:
    return f"{usd(d['total_24h'])} invested within 24 h, above the {usd(d['max'])} limit"


def _structuring(d: dict) -> str:
    low, high = d["band"]
    return (
        f"{int(d['amounts_just_below_7d'])} investments within 7 days just below the {usd(high)} "
        f"threshold (each between {usd(low)} and {usd(high)})"
    )


def _sanctioned_wallet(d: dict) -> str:
    return f"the wallet {d['wallet']} is on the sanctions list"


def _restricted_country(d: dict) -> str:
    return f"the investor's country, {_country(d['country'])}, is restricted"


FINDINGS = {
    AMLRule.LARGE_AMOUNT: _large_amount,
    AMLRule.VELOCITY_COUNT: _velocity_count,
    AMLRule.VELOCITY_TOTAL: _velocity_total,
    AMLRule.STRUCTURING: _structuring,
    AMLRule.SANCTIONED_WALLET: _sanctioned_wallet,
    AMLRule.RESTRICTED_COUNTRY: _restricted_country,
}


def describe_finding(rule: str, details: Any) -> str:
    """What screening found, as a sentence ("12,000.00 USD in 1 investment, at or above the
    10,000.00 USD threshold"), from the details campaigns.aml stores per rule. Details of another
    shape (an older row, a rule added later) read as "name: value" pairs, never as raw JSON."""
    facts = details if isinstance(details, dict) else {}
    describe = FINDINGS.get(rule)
    if describe is not None:
        try:
            text = describe(facts)
            return text[0].upper() + text[1:]
        except (KeyError, TypeError, ValueError, IndexError):
            pass
    pairs = "; ".join(f"{str(k).replace('_', ' ')}: {v}" for k, v in facts.items())
    return pairs or "No details recorded."


def rule_label(rule: str) -> str:
    return dict(AMLRule.choices).get(rule, rule)


# --- campaigns -----------------------------------------------------------------------------------------


def _review(decision: str):
    return lambda campaign, officer, notes: services.review_campaign(
        campaign=campaign, officer=officer, decision=decision, notes=notes
    )


def _cancel(campaign, officer, notes):
    return services.cancel_campaign(campaign=campaign, actor=officer, reason=notes)


def _awaiting_review(campaign: Campaign) -> bool:
    return campaign.status == CampaignStatus.PENDING_REVIEW


def _cancellable(campaign: Campaign) -> bool:
    # Offered where the life cycle allows it (services.TRANSITIONS); the service checks again.
    return campaign.status in services.TRANSITIONS["cancel"].sources


def _cancelled(campaign: Campaign) -> str:
    if campaign.close_requested_at and campaign.contract_address:
        return f"Campaign “{campaign.title}” cancelled; finalizing its contract on chain was requested."
    return f"Campaign “{campaign.title}” cancelled."


@admin.register(Campaign)
class CampaignAdmin(ReviewedAdmin):
    list_display = (
        "title",
        "issuer",
        "status",
        "goal_money",
        "hard_cap_money",
        "raised_money",
        "starts_at",
        "ends_at",
        "contract",
        "last_chain_error",
    )
    list_filter = ("status",)
    search_fields = ("title", "issuer__legal_name", "contract_address", "campaign_ref")
    date_hierarchy = "created_at"
    goal_money = money_display("goal", currency=CURRENCY)
    hard_cap_money = money_display("hard_cap", currency=CURRENCY, description="hard cap")
    min_investment_money = money_display(
        "min_investment", currency=CURRENCY, description="minimum investment"
    )
    share_price_money = money_display("share_price", currency=CURRENCY, description="share price")
    raised_money = money_display("raised", currency=CURRENCY, description="raised (from the chain)")
    pending_amount_money = money_display("pending_amount", currency=CURRENCY, description="pending")
    field_displays = {
        "goal": "goal_money",
        "hard_cap": "hard_cap_money",
        "min_investment": "min_investment_money",
        "share_price": "share_price_money",
        "raised": "raised_money",
        "pending_amount": "pending_amount_money",
        "contract_address": "contract",
        "created_tx_hash": "created_tx",
        "finalized_tx_hash": "finalized_tx",
    }
    decisions = (
        Decision(
            name=ReviewDecision.APPROVE,
            label="Approve",
            permission="compliance",
            decide=_review(ReviewDecision.APPROVE),
            done=lambda c: f"Campaign “{c.title}” approved; deployment requested.",
            offered=_awaiting_review,
        ),
        Decision(
            name=ReviewDecision.REJECT,
            label="Reject",
            permission="compliance",
            decide=_review(ReviewDecision.REJECT),
            done=lambda c: f"Campaign “{c.title}” rejected; the issuer sees your notes as the reason.",
            notes_required=True,
            notes_help="The issuer sees these notes as the reason the campaign was rejected.",
            offered=_awaiting_review,
        ),
        Decision(
            name=ReviewDecision.REQUEST_CHANGES,
            label="Request changes",
            permission="compliance",
            decide=_review(ReviewDecision.REQUEST_CHANGES),
            done=lambda c: f"Changes to campaign “{c.title}” requested; it is back in draft with the issuer.",
            notes_required=True,
            notes_help="Say what the issuer should change; the campaign goes back to draft.",
            offered=_awaiting_review,
        ),
        Decision(
            name="cancel",
            label="Cancel campaign",
            permission="compliance",
            decide=_cancel,
            done=_cancelled,
            notes_required=True,
            notes_help="The issuer sees these notes as the reason; an active campaign's contract is closed.",
            offered=_cancellable,
        ),
    )
    actions = [
        compliance_decision(
            name="approve",
            verb="Approve",
            decide=_review("approve"),
            notes_required=False,
            done="campaign(s) approved; deployment requested.",
        ),
        compliance_decision(
            name="reject",
            verb="Reject",
            decide=_review("reject"),
            notes_required=True,
            done="campaign(s) rejected.",
        ),
        compliance_decision(
            name="request_changes",
            verb="Request changes to",
            decide=_review("request_changes"),
            notes_required=True,
            done="campaign(s) sent back to draft with your requested changes.",
        ),
        compliance_decision(
            name="cancel", verb="Cancel", decide=_cancel, notes_required=True, done="campaign(s) cancelled."
        ),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("issuer")

    def decision_subject(self, obj: Campaign) -> str:
        return obj.title

    @admin.display(description="contract")
    def contract(self, obj: Campaign) -> str:
        return address_link(obj.contract_address)

    @admin.display(description="creation tx")
    def created_tx(self, obj: Campaign) -> str:
        return tx_link(obj.created_tx_hash) if obj.created_tx_hash else "—"

    @admin.display(description="finalize tx")
    def finalized_tx(self, obj: Campaign) -> str:
        return tx_link(obj.finalized_tx_hash) if obj.finalized_tx_hash else "—"


# --- investments and AML --------------------------------------------------------------------------------


class AMLAlertInline(admin.TabularInline):
    model = AMLAlert
    fields = ("rule", "finding", "score", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="what screening found")
    def finding(self, obj: AMLAlert) -> str:
        return describe_finding(obj.rule, obj.details)


class HeldFilter(admin.SimpleListFilter):
    title = "review queue"
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [("held", "Held for AML review")]

    def queryset(self, request, queryset):
        return (
            queryset.filter(status=InvestmentStatus.HELD_FOR_REVIEW) if self.value() == "held" else queryset
        )


def _review_investment(decision: str):
    return lambda investment, officer, notes, reason="": services.review_investment(
        investment=investment, officer=officer, decision=decision, notes=notes, reason=reason
    )


def _held(investment: Investment) -> bool:
    return investment.status == InvestmentStatus.HELD_FOR_REVIEW


def _investment_name(investment: Investment) -> str:
    return f"#{investment.pk}, {usd(investment.amount)} in {investment.campaign.title}"


@admin.register(Investment)
class InvestmentAdmin(ReviewedAdmin):
    list_display = (
        "id",
        "campaign",
        "investor",
        "amount_money",
        "status",
        "alert_rules",
        "recorded_tx",
        "created_at",
    )
    list_filter = (HeldFilter, "status", "alerts__rule")
    search_fields = ("investor__username", "investor_wallet", "investment_ref", "recorded_tx_hash")
    date_hierarchy = "created_at"
    inlines = [AMLAlertInline, *ReviewedAdmin.inlines]
    amount_money = money_display("amount", currency=CURRENCY)
    leading_fields = ("aml_findings",)
    field_displays = {
        "amount": "amount_money",
        "investor_wallet": "wallet",
        "recorded_tx_hash": "recorded_tx",
        "cancelled_tx_hash": "cancelled_tx",
    }
    decisions = (
        Decision(
            name=ReviewDecision.RELEASE,
            label="Release",
            permission="compliance",
            decide=_review_investment(ReviewDecision.RELEASE),
            done=lambda i: f"Investment {_investment_name(i)} released; recording on chain requested.",
            offered=_held,
        ),
        Decision(
            name=ReviewDecision.REJECT,
            label="Reject",
            permission="compliance",
            decide=_review_investment(ReviewDecision.REJECT),
            done=lambda i: (
                f"Investment {_investment_name(i)} rejected; the investor is told: "
                f"“{RejectionReason(i.rejection_reason).label}”"
            ),
            notes_required=True,
            reasons=RejectionReason.choices,
            reasons_label="Reason shown to the investor",
            notes_help="Staff only: never shown to the investor (no tipping off).",
            offered=_held,
        ),
    )
    actions = [
        compliance_decision(
            name="release",
            verb="Release",
            decide=_review_investment("release"),
            notes_required=False,
            done="investment(s) released; recording on chain requested.",
        ),
        compliance_decision(
            name="reject",
            verb="Reject",
            decide=_review_investment("reject"),
            notes_required=True,
            reasons=RejectionReason.choices,
            done="investment(s) rejected.",
        ),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("campaign", "investor").prefetch_related("alerts")

    def decision_subject(self, obj: Investment) -> str:
        return _investment_name(obj)

    @admin.display(description="AML")
    def alert_rules(self, obj: Investment) -> str:
        return ", ".join(sorted({rule_label(a.rule) for a in obj.alerts.all()})) or "—"

    @admin.display(description="AML screening")
    def aml_findings(self, obj: Investment) -> str:
        alerts = sorted(obj.alerts.all(), key=lambda a: (-a.score, a.pk))
        if not alerts:
            return "No AML rule fired."
        return format_html(
            '<ul id="aml-findings">{}</ul>',
            format_html_join(
                "",
                "<li><strong>{}</strong> (score {}): {}.</li>",
                ((rule_label(a.rule), a.score, describe_finding(a.rule, a.details)) for a in alerts),
            ),
        )

    @admin.display(description="investor wallet", ordering="investor_wallet")
    def wallet(self, obj: Investment) -> str:
        return address_link(obj.investor_wallet)

    @admin.display(description="recording tx")
    def recorded_tx(self, obj: Investment) -> str:
        return tx_link(obj.recorded_tx_hash) if obj.recorded_tx_hash else "—"

    @admin.display(description="cancellation tx")
    def cancelled_tx(self, obj: Investment) -> str:
        return tx_link(obj.cancelled_tx_hash) if obj.cancelled_tx_hash else "—"


@admin.register(AMLAlert)
class AMLAlertAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "rule", "finding", "score", "investment")
    list_filter = ("rule",)
    fields = ("investment", "rule", "finding", "score", "created_at")
    readonly_fields = fields

    @admin.display(description="what screening found")
    def finding(self, obj: AMLAlert) -> str:
        return describe_finding(obj.rule, obj.details)


@admin.register(SanctionedWallet)
class SanctionedWalletAdmin(admin.ModelAdmin):
    """Compliance keeps the list; investments from these wallets are rejected outright."""

    list_display = ("address", "source", "added_at")
    search_fields = ("address", "source", "note")

    def save_model(self, request, obj: SanctionedWallet, form, change: bool) -> None:
        obj.address = normalize_address(obj.address)
        super().save_model(request, obj, form, change)


@admin.register(CountryRestriction)
class CountryRestrictionAdmin(admin.ModelAdmin):
    list_display = ("country", "campaign", "note")
    list_filter = ("country",)
    raw_id_fields = ("campaign",)


@admin.register(ShareCertificate)
class ShareCertificateAdmin(ReadOnlyAdmin):
    list_display = ("token_id", "campaign", "shares", "owner_link", "status", "minted_tx", "last_chain_error")
    list_filter = ("status",)
    search_fields = ("owner", "certificate_ref", "=token_id")
    actions = ["retry_failed"]

    @admin.display(description="owner")
    def owner_link(self, obj: ShareCertificate) -> str:
        return address_link(obj.owner)

    @admin.display(description="mint tx")
    def minted_tx(self, obj: ShareCertificate) -> str:
        return tx_link(obj.minted_tx_hash) if obj.minted_tx_hash else "—"

    @admin.action(
        description="Mint the failed certificates of the selected certificates' campaigns again",
        permissions=["operator"],
    )
    def retry_failed(self, request, queryset) -> None:
        campaigns = Campaign.objects.filter(pk__in=queryset.values("campaign_id"))
        apply_to_each(
            self,
            request,
            campaigns,
            lambda c: services.retry_certificates(campaign=c),
            done="campaign(s) re-queued.",
        )
