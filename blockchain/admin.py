"""The chain side in the admin: outbox rows, events, cursors and reports, all read-only; tx hashes and
addresses link to the explorer (EXPLORER_TX_URL / EXPLORER_ADDRESS_URL) or, for a transaction on a
chain without one (a dev chain), to the admin's own transaction page."""

from __future__ import annotations

import logging
import re
from contextvars import ContextVar
from functools import update_wrapper
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils.html import format_html, format_html_join

from blockchain.chain.client import build_web3, explorer_address_url, explorer_tx_url, rpc_batch
from blockchain.indexing.events import WatchedAddresses, decode_logs
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

logger = logging.getLogger(__name__)

TX_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")
ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
# The transaction page asks the node briefly: the page must not hang on a node that is down.
NODE_TIMEOUT_SECONDS = 3.0
# The user a change page is rendered for (display functions receive only the row).
_viewer: ContextVar = ContextVar("blockchain_admin_viewer", default=None)


def transaction_page_url(tx_hash: str | None) -> str | None:
    """The admin's own page of a transaction (staff only), for chains without an explorer."""
    if not tx_hash or not TX_HASH.match(tx_hash):
        return None
    try:
        return reverse("admin:blockchain_transaction", args=[tx_hash])
    except NoReverseMatch:  # the admin is not mounted (a management command, a worker)
        return None


def tx_link(tx_hash: str) -> str:
    if not tx_hash:
        return "—"
    url = explorer_tx_url(tx_hash)
    if url:
        return format_html('<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>', url, tx_hash)
    page = transaction_page_url(tx_hash)
    return format_html('<a href="{}" class="tx-page">{}</a>', page, tx_hash) if page else tx_hash


def address_link(address: str) -> str:
    if not address:
        return "—"
    url = explorer_address_url(address)
    if not url:
        return address
    return format_html('<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>', url, address)


def readable_value(value: Any) -> str:
    """A decoded argument or error field as text: addresses linked, lists joined."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str) and ADDRESS.match(value):
        return address_link(value)
    if isinstance(value, list | tuple):
        return format_html_join(", ", "{}", ((readable_value(v),) for v in value)) or "—"
    if isinstance(value, dict):
        return readable_mapping(value)
    return format_html("{}", value)


def readable_mapping(values: Any) -> str:
    """A JSON object (event arguments, a decoded error) as "name: value" lines instead of raw JSON."""
    if not values:
        return "—"
    if not isinstance(values, dict):
        return readable_value(values)
    return format_html_join(
        "",
        '<div class="argument"><strong>{}</strong>: {}</div>',
        ((k, readable_value(v)) for k, v in values.items()),
    )


def subject_admin_url(user, content_type, object_id) -> str | None:
    """The admin page of an outbox row's subject (the domain row it acts for), if the viewer may see it."""
    if content_type is None or object_id is None or user is None:
        return None
    if not user.has_perm(f"{content_type.app_label}.view_{content_type.model}"):
        return None
    try:
        return reverse(f"admin:{content_type.app_label}_{content_type.model}_change", args=[object_id])
    except NoReverseMatch:
        return None


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
        "first_broadcast_at",
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
    # raw_tx and calldata are bytes nobody reads here; the call's arguments are shown decoded.
    fields = (
        "kind",
        "status",
        "subject_link",
        "contract_name",
        "contract",
        "function",
        "call_arguments",
        "tx",
        "block_number",
        "signer",
        "nonce",
        "attempts",
        "gas_used",
        "effective_gas_price",
        "error_code",
        "error_details",
        "last_error",
        "chain_id",
        "idempotency_key",
        "created_at",
        "signed_at",
        "sent_at",
        "mined_at",
        "confirmed_at",
        "failed_at",
    )
    readonly_fields = fields
    actions = ["retry_failed", "rebroadcast"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("raw_tx", "calldata").select_related("content_type")

    @admin.display(description="tx hash")
    def tx(self, obj: ChainTransaction) -> str:
        return tx_link(obj.tx_hash) if obj.tx_hash else "—"

    @admin.display(description="contract address")
    def contract(self, obj: ChainTransaction) -> str:
        return address_link(obj.contract_address)

    @admin.display(description="arguments")
    def call_arguments(self, obj: ChainTransaction) -> str:
        return readable_value(obj.args) if obj.args else "—"

    @admin.display(description="error details")
    def error_details(self, obj: ChainTransaction) -> str:
        return readable_mapping(obj.error) if obj.error else "—"

    @admin.display(description="for")
    def subject_link(self, obj: ChainTransaction) -> str:
        if obj.content_type_id is None:
            return "—"
        label = f"{obj.content_type.name} #{obj.object_id}"
        url = subject_admin_url(_viewer.get(), obj.content_type, obj.object_id)
        return format_html('<a href="{}">{}</a>', url, label) if url else label

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Read-only fields are computed while the page renders: render inside the viewer's context,
        # whose permissions decide whether the subject is linked.
        token = _viewer.set(request.user)
        try:
            response = super().change_view(request, object_id, form_url, extra_context)
            if hasattr(response, "render"):
                response.render()
            return response
        finally:
            _viewer.reset(token)

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

    # --- the transaction page: for chains without an explorer ---------------------------------------

    def get_urls(self):
        def wrap(view):
            def wrapper(*args, **kwargs):
                return self.admin_site.admin_view(view)(*args, **kwargs)

            wrapper.model_admin = self
            return update_wrapper(wrapper, view)

        page = path("tx/<str:tx_hash>/", wrap(self.transaction_page), name="blockchain_transaction")
        return [page, *super().get_urls()]  # before the "<path:object_id>/" catch-all

    def transaction_page(self, request, tx_hash: str) -> TemplateResponse:
        """What the platform knows of one transaction (its outbox row, attempts and stored events) and,
        when the node answers, the node's receipt with its logs decoded. Staff who may see the outbox."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        if not TX_HASH.match(tx_hash):
            raise Http404("Not a transaction hash.")
        stored = stored_transaction_facts(tx_hash=tx_hash, user=request.user)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Transaction {tx_hash}",
            "opts": self.opts,
            "tx_hash": tx_hash,
            "explorer_url": explorer_tx_url(tx_hash),
            **stored,
            "node": node_transaction_facts(tx_hash=tx_hash),
        }
        return TemplateResponse(request, "admin/blockchain/transaction.html", context)


def _event_row(*, name: str, artifact: str, address: str, log_index: int, args: dict, removed: bool = False):
    return {
        "name": name,
        "artifact": artifact,
        "address": address_link(address),
        "log_index": log_index,
        "arguments": readable_mapping(args),
        "removed": removed,
    }


def stored_transaction_facts(*, tx_hash: str, user) -> dict[str, Any]:
    """The database's side of one transaction hash: the outbox rows that broadcast it (as the row's
    hash or one of its attempts), its attempts, the events stored from it and a deployment it made."""
    hashes = {tx_hash, tx_hash.lower()}
    rows = list(
        ChainTransaction.objects.filter(Q(tx_hash__in=hashes) | Q(attempt_set__tx_hash__in=hashes))
        .defer("raw_tx", "calldata")
        .select_related("content_type")
        .distinct()
        .order_by("id")
    )
    outbox_rows = []
    for row in rows:
        subject_url = subject_admin_url(user, row.content_type, row.object_id)
        outbox_rows.append(
            {
                "row": row,
                "url": reverse("admin:blockchain_chaintransaction_change", args=[row.pk]),
                "subject": f"{row.content_type.name} #{row.object_id}" if row.content_type_id else "",
                "subject_url": subject_url,
                "arguments": readable_value(row.args) if row.args else "—",
                "error": readable_mapping(row.error) if row.error else "",
                "is_final_hash": row.tx_hash in hashes,
            }
        )
    attempts = list(TxAttempt.objects.filter(transaction__in=rows).order_by("transaction_id", "id"))
    events = ChainEvent.objects.filter(tx_hash__in=hashes).order_by("block_number", "log_index", "id")
    deployments = ContractDeployment.objects.filter(tx_hash__in=hashes).order_by("id")
    return {
        "outbox_rows": outbox_rows,
        "attempts": [
            {"attempt": a, "hash": tx_link(a.tx_hash), "this": a.tx_hash in hashes} for a in attempts
        ],
        "events": [
            _event_row(
                name=e.event_name,
                artifact=e.artifact,
                address=e.contract_address,
                log_index=e.log_index,
                args=e.args,
                removed=e.removed,
            )
            for e in events
        ],
        "block_number": next((e.block_number for e in events if not e.removed), None),
        "deployments": list(deployments),
    }


def node_transaction_facts(*, tx_hash: str) -> dict[str, Any]:
    """The node's receipt of the transaction, its logs decoded with our contracts' ABIs. A node that
    does not answer is said so in one sentence: its URL and error text stay in the server log."""
    try:
        w3 = build_web3(timeout=min(NODE_TIMEOUT_SECONDS, settings.CHAIN_RPC_TIMEOUT))
        receipt, tx = rpc_batch(
            w3, [("eth_getTransactionReceipt", [tx_hash]), ("eth_getTransactionByHash", [tx_hash])]
        )
    except Exception:  # unreachable, timing out, refusing batches: the page still shows the DB's view
        logger.warning("transaction page: the node did not answer for %s", tx_hash, exc_info=True)
        return {"reachable": False}
    if not isinstance(receipt, dict):
        return {"reachable": True, "known": isinstance(tx, dict), "mined": False}
    logs = receipt.get("logs") or []
    decoded = decode_logs(logs, watched=WatchedAddresses(settings.CHAIN_ID))
    return {
        "reachable": True,
        "known": True,
        "mined": True,
        "succeeded": int(receipt.get("status") or "0x0", 16) == 1,
        "block_number": int(receipt["blockNumber"], 16) if receipt.get("blockNumber") else None,
        "from": address_link(receipt.get("from") or ""),
        "to": address_link(receipt.get("to") or ""),
        "contract_created": address_link(receipt["contractAddress"])
        if receipt.get("contractAddress")
        else "",
        "gas_used": int(receipt["gasUsed"], 16) if receipt.get("gasUsed") else None,
        "log_count": len(logs),
        "events": [
            _event_row(
                name=e.name, artifact=e.artifact, address=e.address, log_index=e.log_index, args=e.args
            )
            for e in decoded
        ],
    }


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
    fields = (
        "event_name",
        "artifact",
        "contract",
        "arguments",
        "tx",
        "block_number",
        "log_index",
        "block_hash",
        "block_timestamp",
        "removed",
        "chain_id",
        "created_at",
    )
    readonly_fields = fields

    @admin.display(description="transaction")
    def tx(self, obj: ChainEvent) -> str:
        return tx_link(obj.tx_hash)

    @admin.display(description="contract")
    def contract(self, obj: ChainEvent) -> str:
        return address_link(obj.contract_address)

    @admin.display(description="arguments")
    def arguments(self, obj: ChainEvent) -> str:
        return readable_mapping(obj.args)


@admin.register(WatchedContract)
class WatchedContractAdmin(ReadOnlyAdmin):
    list_display = ("artifact", "address", "chain_id", "start_block", "active", "discovered_by")
    list_filter = ("artifact", "active", "chain_id")
    search_fields = ("address",)

    @admin.display(description="discovered by tx")
    def discovered_by(self, obj: WatchedContract) -> str:
        return tx_link(obj.discovered_by_tx) if obj.discovered_by_tx else "—"


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
    readonly_fields = ("chain_id", "started_at", "finished_at", "checked", "drift_count", "drift_found")
    fields = readonly_fields

    @admin.display(boolean=True, description="no drift")
    def ok(self, obj: ReconcileReport) -> bool:
        return obj.ok

    @admin.display(description="drift")
    def drift_found(self, obj: ReconcileReport) -> str:
        """One line per difference: what was checked, and what the cache and the chain said."""
        items = [d for d in obj.drift if isinstance(d, dict)]
        if not items:
            return "None: the database agrees with the chain."
        return format_html_join(
            "",
            "<div>{} <code>{}</code>: database {}, chain {}</div>",
            (
                (
                    d.get("check", ""),
                    d.get("key", ""),
                    readable_value(d.get("cache")),
                    readable_value(d.get("chain")),
                )
                for d in items
            ),
        )
