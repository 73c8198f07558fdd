from django.contrib import admin
from django.contrib.contenttypes.admin import GenericTabularInline

from blockchain.admin import ReadOnlyAdmin, tx_link
from core.admin_tools import RoleActionsMixin
from issuers import services
from issuers.admin_actions import compliance_decision
from issuers.models import Company, ComplianceReview, KybStatus


class ComplianceReviewInline(GenericTabularInline):
    """The subject's decisions, read-only (the table is append-only)."""

    model = ComplianceReview
    ct_field = "content_type"
    ct_fk_field = "object_id"
    fields = ("created_at", "officer", "decision", "from_status", "to_status", "notes")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("created_at", "id")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ReviewedAdmin(RoleActionsMixin, admin.ModelAdmin):
    """Compliance works through actions; fields are read-only and nothing is deleted."""

    inlines = [ComplianceReviewInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name not in ("id",)] + list(self.extra_readonly)

    extra_readonly: tuple[str, ...] = ()

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class KybQueueFilter(admin.SimpleListFilter):
    title = "review queue"
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [("pending", "Awaiting KYB review"), ("chain_failed", "Registration failed")]

    def queryset(self, request, queryset):
        if self.value() == "pending":
            return queryset.filter(kyb_status=KybStatus.PENDING)
        if self.value() == "chain_failed":
            return queryset.filter(registration_status="failed")
        return queryset


@admin.register(Company)
class CompanyAdmin(ReviewedAdmin):
    list_display = (
        "legal_name",
        "country",
        "registration_number",
        "wallet_address",
        "kyb_status",
        "registration_status",
        "registration_tx",
        "created_at",
    )
    list_filter = (KybQueueFilter, "kyb_status", "registration_status", "country")
    search_fields = ("legal_name", "registration_number", "wallet_address")
    date_hierarchy = "created_at"
    extra_readonly = ("registration_tx",)
    actions = [
        compliance_decision(
            name="approve_kyb",
            verb="Approve KYB of",
            decide=lambda c, officer, notes: services.review_company(
                company=c, officer=officer, decision="approve", notes=notes
            ),
            notes_required=False,
        ),
        compliance_decision(
            name="reject_kyb",
            verb="Reject KYB of",
            decide=lambda c, officer, notes: services.review_company(
                company=c, officer=officer, decision="reject", notes=notes
            ),
            notes_required=True,
        ),
    ]

    @admin.display(description="registration tx")
    def registration_tx(self, obj: Company) -> str:
        return tx_link(obj.registered_tx_hash) if obj.registered_tx_hash else "—"


@admin.register(ComplianceReview)
class ComplianceReviewAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "content_type",
        "object_id",
        "decision",
        "officer",
        "from_status",
        "to_status",
    )
    list_filter = ("decision", "content_type")
    search_fields = ("notes", "officer__username")
    date_hierarchy = "created_at"
