from django.contrib import admin

from blockchain.admin import ReadOnlyAdmin, address_link, tx_link
from blockchain.chain.addresses import normalize_address
from campaigns import services
from campaigns.models import (
    AMLAlert,
    Campaign,
    CountryRestriction,
    Investment,
    InvestmentStatus,
    RejectionReason,
    SanctionedWallet,
    ShareCertificate,
)
from core.admin_tools import apply_to_each
from issuers.admin import ReviewedAdmin
from issuers.admin_actions import compliance_decision


def _review(decision: str):
    return lambda campaign, officer, notes: services.review_campaign(
        campaign=campaign, officer=officer, decision=decision, notes=notes
    )


@admin.register(Campaign)
class CampaignAdmin(ReviewedAdmin):
    list_display = (
        "title",
        "issuer",
        "status",
        "goal",
        "hard_cap",
        "raised",
        "starts_at",
        "ends_at",
        "contract",
        "last_chain_error",
    )
    list_filter = ("status",)
    search_fields = ("title", "issuer__legal_name", "contract_address", "campaign_ref")
    date_hierarchy = "created_at"
    extra_readonly = ("contract", "created_tx", "finalized_tx")
    actions = [
        compliance_decision(name="approve", verb="Approve", decide=_review("approve"), notes_required=False),
        compliance_decision(name="reject", verb="Reject", decide=_review("reject"), notes_required=True),
        compliance_decision(
            name="request_changes",
            verb="Request changes to",
            decide=_review("request_changes"),
            notes_required=True,
        ),
        compliance_decision(
            name="cancel",
            verb="Cancel",
            decide=lambda c, officer, notes: services.cancel_campaign(
                campaign=c, actor=officer, reason=notes
            ),
            notes_required=True,
        ),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("issuer")

    @admin.display(description="contract")
    def contract(self, obj: Campaign) -> str:
        return address_link(obj.contract_address)

    @admin.display(description="creation tx")
    def created_tx(self, obj: Campaign) -> str:
        return tx_link(obj.created_tx_hash) if obj.created_tx_hash else "—"

    @admin.display(description="finalize tx")
    def finalized_tx(self, obj: Campaign) -> str:
        return tx_link(obj.finalized_tx_hash) if obj.finalized_tx_hash else "—"


class AMLAlertInline(admin.TabularInline):
    model = AMLAlert
    fields = ("rule", "score", "details", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


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


@admin.register(Investment)
class InvestmentAdmin(ReviewedAdmin):
    list_display = (
        "id",
        "campaign",
        "investor",
        "amount",
        "status",
        "alert_rules",
        "recorded_tx",
        "created_at",
    )
    list_filter = (HeldFilter, "status", "alerts__rule")
    search_fields = ("investor__username", "investor_wallet", "investment_ref", "recorded_tx_hash")
    date_hierarchy = "created_at"
    inlines = [AMLAlertInline, *ReviewedAdmin.inlines]
    extra_readonly = ("recorded_tx",)
    actions = [
        compliance_decision(
            name="release", verb="Release", decide=_review_investment("release"), notes_required=False
        ),
        compliance_decision(
            name="reject",
            verb="Reject",
            decide=_review_investment("reject"),
            notes_required=True,
            reasons=RejectionReason.choices,
        ),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("campaign", "investor").prefetch_related("alerts")

    @admin.display(description="AML")
    def alert_rules(self, obj: Investment) -> str:
        return ", ".join(sorted({a.rule for a in obj.alerts.all()})) or "—"

    @admin.display(description="recording tx")
    def recorded_tx(self, obj: Investment) -> str:
        return tx_link(obj.recorded_tx_hash) if obj.recorded_tx_hash else "—"


@admin.register(AMLAlert)
class AMLAlertAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "rule", "score", "investment")
    list_filter = ("rule",)


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
