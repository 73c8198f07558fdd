from django.contrib import admin, messages
from django.utils.html import format_html

from blockchain.chain.client import explorer_address_url, explorer_tx_url
from blockchain.models import (
    ChainEvent,
    ChainSyncState,
    ChainTransaction,
    ContractDeployment,
    NonceAccount,
    ReconcileReport,
    ReorgRecord,
    TxAttempt,
    WatchedContract,
)
from blockchain.outbox import enqueue as outbox
from core.admin_tools import RoleActionsMixin


def tx_link(tx_hash: str) -> str:
    url = explorer_tx_url(tx_hash)
    return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, tx_hash) if url else tx_hash


def address_link(address: str) -> str:
    if not address:
        return "—"
    url = explorer_address_url(address)
    return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, address) if url else address


class ReadOnlyAdmin(RoleActionsMixin, admin.ModelAdmin):
    """Rows written by the platform's own processes; people look, they do not edit."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ContractDeployment)
class ContractDeploymentAdmin(ReadOnlyAdmin):
    list_display = ("name", "address", "chain_id", "deployment_set", "active", "block_number", "tx")
    list_filter = ("chain_id", "active", "name")
    search_fields = ("name", "address", "tx_hash")

    @admin.display(description="transaction")
    def tx(self, obj: ContractDeployment) -> str:
        return tx_link(obj.tx_hash)


class TxAttemptInline(admin.TabularInline):
    model = TxAttempt
    fields = (
        "tx_hash",
        "nonce",
        "max_fee_per_gas",
        "max_priority_fee_per_gas",
        "gas_limit",
        "status",
        "broadcast_at",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ChainTransaction)
class ChainTransactionAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "kind",
        "contract_name",
        "function",
        "status",
        "nonce",
        "tx",
        "error_code",
        "created_at",
    )
    list_filter = ("status", "kind", "contract_name", "chain_id")
    search_fields = ("tx_hash", "idempotency_key", "attempt_set__tx_hash", "error_code")
    date_hierarchy = "created_at"
    inlines = [TxAttemptInline]
    # raw_tx is public once broadcast, but it is bytes nobody reads here.
    exclude = ("raw_tx", "calldata")
    actions = ["retry_failed", "rebroadcast"]

    @admin.display(description="tx hash")
    def tx(self, obj: ChainTransaction) -> str:
        return tx_link(obj.tx_hash) if obj.tx_hash else "—"

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def _apply(self, request, queryset, service, done: str, refused_as: str) -> None:
        count, refused = 0, []
        for tx in queryset:
            try:
                service(tx=tx)
                count += 1
            except outbox.OutboxError as exc:
                refused.append(f"#{tx.pk}: {exc}")
        self.message_user(request, f"{count} {done}", messages.SUCCESS)
        if refused:
            self.message_user(request, f"{refused_as}: " + "; ".join(refused), messages.WARNING)

    @admin.action(
        description="Retry the selected failed transactions (fresh nonce)", permissions=["operator"]
    )
    def retry_failed(self, request, queryset) -> None:
        self._apply(request, queryset, outbox.retry_failed, "transaction(s) queued again.", "Not retried")

    @admin.action(description="Re-broadcast the selected signed/sent transactions", permissions=["operator"])
    def rebroadcast(self, request, queryset) -> None:
        self._apply(request, queryset, outbox.rebroadcast, "re-broadcast(s) queued.", "Not re-broadcast")


@admin.register(ChainEvent)
class ChainEventAdmin(ReadOnlyAdmin):
    list_display = (
        "event_name",
        "artifact",
        "contract_address",
        "block_number",
        "log_index",
        "removed",
        "tx",
    )
    list_filter = ("event_name", "artifact", "removed", "chain_id")
    search_fields = ("tx_hash", "contract_address", "block_hash")

    @admin.display(description="transaction")
    def tx(self, obj: ChainEvent) -> str:
        return tx_link(obj.tx_hash)


@admin.register(WatchedContract)
class WatchedContractAdmin(ReadOnlyAdmin):
    list_display = ("artifact", "address", "chain_id", "start_block", "active", "discovered_by_tx")
    list_filter = ("artifact", "active", "chain_id")
    search_fields = ("address",)


@admin.register(NonceAccount)
class NonceAccountAdmin(ReadOnlyAdmin):
    list_display = ("address", "chain_id", "next_nonce", "reconciled_at", "updated_at")


@admin.register(ChainSyncState)
class ChainSyncStateAdmin(ReadOnlyAdmin):
    list_display = (
        "chain_id",
        "head",
        "indexed_block",
        "lag",
        "range_size",
        "reorgs_detected",
        "last_run_at",
    )

    @admin.display(description="lag (blocks)")
    def lag(self, obj: ChainSyncState):
        return obj.lag_blocks


@admin.register(ReorgRecord)
class ReorgRecordAdmin(ReadOnlyAdmin):
    list_display = ("detected_at", "chain_id", "fork_block", "depth", "events_removed")
    list_filter = ("chain_id",)


@admin.register(ReconcileReport)
class ReconcileReportAdmin(ReadOnlyAdmin):
    list_display = ("finished_at", "chain_id", "checked", "drift_count", "ok")
    list_filter = ("chain_id",)
    readonly_fields = ("chain_id", "started_at", "finished_at", "checked", "drift_count", "drift")

    @admin.display(boolean=True, description="no drift")
    def ok(self, obj: ReconcileReport) -> bool:
        return obj.ok
