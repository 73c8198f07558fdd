from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from blockchain.admin import ReadOnlyAdmin, tx_link
from core.admin_tools import RoleActionsMixin, apply_to_each, money_display
from core.api import DomainError
from loans import services
from loans.models import HASHED_FIELDS, Loan, LoanHistoryEntry, LoanStatus, LoanVerificationReport


class LoanAdminForm(forms.ModelForm):
    class Meta:
        model = Loan
        fields = [*HASHED_FIELDS, "start_date", "notes"]

    def clean(self):
        cleaned = super().clean()
        terms = {
            name: cleaned[name] for name in HASHED_FIELDS if name in cleaned and cleaned[name] is not None
        }
        try:
            terms = services.clean_terms(terms)
            for name, value in terms.items():
                setattr(self.instance, name, value)
            services.check_consistency(self.instance)
        except DomainError as exc:
            raise ValidationError(exc.extra.get("errors") or exc.message) from None
        cleaned.update(terms)
        return cleaned


class LoanHistoryInline(admin.TabularInline):
    model = LoanHistoryEntry
    fields = ("at", "action", "from_status", "to_status", "actor", "tx", "details")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("at", "id")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="transaction")
    def tx(self, obj: LoanHistoryEntry) -> str:
        return tx_link(obj.tx_hash) if obj.tx_hash else "—"


@admin.register(Loan)
class LoanAdmin(RoleActionsMixin, admin.ModelAdmin):
    """Operators create and approve loans here; once approved, the hashed terms are read-only."""

    form = LoanAdminForm
    list_display = (
        "loan_id",
        "status",
        "principal_money",
        "borrower_wallet",
        "lender_wallet",
        "anchored_tx",
        "last_chain_error",
        "created_at",
    )
    list_filter = ("status", "currency")
    search_fields = ("loan_id", "borrower_wallet", "lender_wallet", "loan_hash", "anchored_tx_hash")
    date_hierarchy = "created_at"
    inlines = [LoanHistoryInline]
    actions = ["approve", "requeue_anchoring", "mark_repaid", "verify_on_chain"]
    chain_fields = (
        "status",
        "loan_hash",
        "repaid_at",
        "repaid_hash",
        "last_chain_error",
        "chain_loan_hash",
        "anchored_tx",
        "anchored_block",
        "anchored_at",
        "chain_repaid_hash",
        "repaid_tx",
        "repaid_block",
        "repaid_confirmed_at",
        "created_by",
        "approved_by",
        "approved_at",
        "defaulted_at",
    )

    principal_money = money_display("principal", currency=lambda loan: loan.currency)

    def _frozen(self, request, obj) -> bool:
        """Terms are read-only once approved, and for anyone who may not change loans."""
        return obj is not None and (
            obj.status != LoanStatus.DRAFT or not self.has_change_permission(request, obj)
        )

    def get_fields(self, request, obj=None):
        terms = list(HASHED_FIELDS)
        if self._frozen(request, obj):
            # Read-only terms show the amount with its currency.
            terms = [name for name in terms if name != "currency"]
            terms[terms.index("principal")] = "principal_money"
        return [*terms, "start_date", "notes", *(self.chain_fields if obj else ())]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        frozen = [
            name
            for name in self.get_fields(request, obj)
            if name in HASHED_FIELDS or name == "principal_money"
        ]
        return (*(frozen if self._frozen(request, obj) else ()), *self.chain_fields)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the history is append-only; a loan is never deleted

    def save_model(self, request, obj: Loan, form, change: bool) -> None:
        data = {name: form.cleaned_data[name] for name in form.changed_data if name in form.cleaned_data}
        if change:
            saved = services.update_loan(loan=obj, actor=request.user, **data)
        else:
            terms = {name: form.cleaned_data.get(name) for name in form.Meta.fields}
            saved = services.create_loan(actor=request.user, **terms)
        obj.pk = saved.pk
        obj.refresh_from_db()

    @admin.display(description="anchoring tx")
    def anchored_tx(self, obj: Loan) -> str:
        return tx_link(obj.anchored_tx_hash) if obj.anchored_tx_hash else "—"

    @admin.display(description="repayment tx")
    def repaid_tx(self, obj: Loan) -> str:
        return tx_link(obj.repaid_tx_hash) if obj.repaid_tx_hash else "—"

    def _apply(self, request, queryset, action, done: str) -> None:
        apply_to_each(self, request, queryset, action, done=done)

    @admin.action(description="Approve the selected drafts (anchor on chain)", permissions=["operator"])
    def approve(self, request, queryset) -> None:
        self._apply(
            request, queryset, lambda loan: services.approve_loan(loan=loan, actor=request.user), "approved."
        )

    @admin.action(description="Re-queue anchoring of the selected approved loans", permissions=["operator"])
    def requeue_anchoring(self, request, queryset) -> None:
        self._apply(
            request,
            queryset,
            lambda loan: services.request_anchoring(loan=loan, actor=request.user),
            "checked; anchoring queued where it was not in flight.",
        )

    @admin.action(description="Mark the selected loans repaid today (on chain)", permissions=["operator"])
    def mark_repaid(self, request, queryset) -> None:
        self._apply(
            request,
            queryset,
            lambda loan: services.request_repayment(loan=loan, actor=request.user),
            "repayment(s) queued.",
        )

    @admin.action(
        description="Verify the selected loans against the chain", permissions=["operator", "compliance"]
    )
    def verify_on_chain(self, request, queryset) -> None:
        try:
            report = services.verify_loans(
                loans=queryset,
                scope="selected",
                requested=queryset.count(),
                triggered_by=f"admin: {request.user.get_username()}",
            )
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        level = messages.ERROR if report.mismatched else messages.SUCCESS
        detail = "; ".join(f"{m['loan_id']}: {', '.join(m['problems'])}" for m in report.mismatches[:20])
        self.message_user(
            request,
            f"{report.checked} checked: {report.matched} matched, {report.mismatched} mismatched, "
            f"{report.not_anchored} not anchored. {detail}",
            level,
        )


@admin.register(LoanHistoryEntry)
class LoanHistoryEntryAdmin(ReadOnlyAdmin):
    list_display = ("at", "loan", "action", "from_status", "to_status", "actor", "tx")
    list_filter = ("action",)
    search_fields = ("loan__loan_id", "tx_hash")
    date_hierarchy = "at"

    @admin.display(description="transaction")
    def tx(self, obj: LoanHistoryEntry) -> str:
        return tx_link(obj.tx_hash) if obj.tx_hash else "—"


@admin.register(LoanVerificationReport)
class LoanVerificationReportAdmin(ReadOnlyAdmin):
    list_display = (
        "finished_at",
        "scope",
        "triggered_by",
        "checked",
        "matched",
        "mismatched",
        "not_anchored",
        "ok",
    )
    list_filter = ("scope", "chain_id")
    readonly_fields = (
        "scope",
        "requested",
        "triggered_by",
        "chain_id",
        "block_number",
        "started_at",
        "finished_at",
        "checked",
        "matched",
        "mismatched",
        "not_anchored",
        "mismatches",
        "not_anchored_ids",
    )

    @admin.display(boolean=True, description="all matched")
    def ok(self, obj: LoanVerificationReport) -> bool:
        return obj.ok
