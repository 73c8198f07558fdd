from django.conf import settings
from django.contrib import admin
from django.contrib.contenttypes.admin import GenericTabularInline
from django.core.exceptions import FieldDoesNotExist
from django.utils.html import format_html

from blockchain.admin import ReadOnlyAdmin, address_link, tx_link
from core.admin_tools import Decision, DecisionsMixin
from issuers import services
from issuers.admin_actions import compliance_decision
from issuers.models import Company, ComplianceReview, KybStatus, ReviewDecision


def status_label(review: ComplianceReview, value: str) -> str:
    """A status a review moved its subject from or to, as the subject's own status field names it
    ("Pending Review", not "pending_review")."""
    model = review.content_type.model_class() if review.content_type_id else None
    for name in ("status", "kyb_status"):
        try:
            field = model._meta.get_field(name) if model else None
        except FieldDoesNotExist:
            field = None
        if field is not None and field.choices:
            return dict(field.flatchoices).get(value, value)
    return value.replace("_", " ")


class ComplianceReviewInline(GenericTabularInline):
    """The subject's decisions, read-only (the table is append-only)."""

    model = ComplianceReview
    ct_field = "content_type"
    ct_fk_field = "object_id"
    fields = ("created_at", "officer", "decision", "from_label", "to_label", "notes")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("created_at", "id")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="from")
    def from_label(self, obj: ComplianceReview) -> str:
        return status_label(obj, obj.from_status)

    @admin.display(description="to")
    def to_label(self, obj: ComplianceReview) -> str:
        return status_label(obj, obj.to_status)


class ReviewedAdmin(DecisionsMixin, admin.ModelAdmin):
    """Compliance decides with the buttons on each page (`decisions`) or the bulk actions, both through
    the services. The rows themselves are read-only (no Save row) and nothing is deleted."""

    inlines = [ComplianceReviewInline]
    # Model fields shown through a display of this admin instead of as stored (links, amounts with
    # their currency), and displays shown first (what a reviewer reads before anything else).
    field_displays: dict[str, str] = {}
    leading_fields: tuple[str, ...] = ()
    extra_readonly: tuple[str, ...] = ()

    def get_fields(self, request, obj=None):
        shown = [self.field_displays.get(f.name, f.name) for f in self.model._meta.fields if f.name != "id"]
        return list(dict.fromkeys([*self.leading_fields, *shown, *self.extra_readonly]))

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
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


def kyb_document_url(cid: str) -> str:
    return settings.IPFS_GATEWAY_URL.format(cid=cid)


def _review_company(decision: str):
    return lambda company, officer, notes: services.review_company(
        company=company, officer=officer, decision=decision, notes=notes
    )


def _pending(company: Company) -> bool:
    return company.kyb_status == KybStatus.PENDING


@admin.register(Company)
class CompanyAdmin(ReviewedAdmin):
    list_display = (
        "legal_name",
        "country",
        "registration_number",
        "wallet",
        "kyb_status",
        "registration_status",
        "registration_tx",
        "created_at",
    )
    list_filter = (KybQueueFilter, "kyb_status", "registration_status", "country")
    search_fields = ("legal_name", "registration_number", "wallet_address")
    date_hierarchy = "created_at"
    field_displays = {
        "document_cid": "kyb_document",
        "wallet_address": "wallet",
        "registered_tx_hash": "registration_tx",
    }
    decisions = (
        Decision(
            name=ReviewDecision.APPROVE,
            label="Approve KYB",
            permission="compliance",
            decide=_review_company(ReviewDecision.APPROVE),
            done=lambda c: f"Company “{c.legal_name}” approved; its registration on chain was requested.",
            offered=_pending,
        ),
        Decision(
            name=ReviewDecision.REJECT,
            label="Reject KYB",
            permission="compliance",
            decide=_review_company(ReviewDecision.REJECT),
            done=lambda c: f"Company “{c.legal_name}” rejected; its owner sees your notes as the reason.",
            notes_required=True,
            notes_help="The company's owner sees these notes as the reason, and may correct and resubmit.",
            offered=_pending,
        ),
    )
    actions = [
        compliance_decision(
            name="approve_kyb",
            verb="Approve KYB of",
            decide=_review_company(ReviewDecision.APPROVE),
            notes_required=False,
            done="company(ies) approved; registration on chain requested.",
        ),
        compliance_decision(
            name="reject_kyb",
            verb="Reject KYB of",
            decide=_review_company(ReviewDecision.REJECT),
            notes_required=True,
            done="company(ies) rejected.",
        ),
    ]

    def decision_subject(self, obj: Company) -> str:
        return obj.legal_name

    @admin.display(description="registration tx")
    def registration_tx(self, obj: Company) -> str:
        return tx_link(obj.registered_tx_hash) if obj.registered_tx_hash else "—"

    @admin.display(description="wallet", ordering="wallet_address")
    def wallet(self, obj: Company) -> str:
        return address_link(obj.wallet_address)

    @admin.display(description="KYB document (IPFS)")
    def kyb_document(self, obj: Company) -> str:
        if not obj.document_cid:
            return "—"
        return format_html(
            '<a href="{}" target="_blank" rel="noopener noreferrer" id="kyb-document">{}</a>',
            kyb_document_url(obj.document_cid),
            obj.document_cid,
        )


@admin.register(ComplianceReview)
class ComplianceReviewAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "content_type",
        "object_id",
        "decision",
        "officer",
        "from_label",
        "to_label",
    )
    list_filter = ("decision", "content_type")
    search_fields = ("notes", "officer__username")
    date_hierarchy = "created_at"

    @admin.display(description="from")
    def from_label(self, obj: ComplianceReview) -> str:
        return status_label(obj, obj.from_status)

    @admin.display(description="to")
    def to_label(self, obj: ComplianceReview) -> str:
        return status_label(obj, obj.to_status)
