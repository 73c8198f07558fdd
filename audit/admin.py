"""The audit log in the admin: read-only, filterable, exportable as CSV (selected rows or the whole
filtered list)."""

from __future__ import annotations

import json

from django.contrib import admin
from django.http import StreamingHttpResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from audit.models import AuditEvent
from audit.selectors import EXPORT_COLUMNS, export_rows, tx_hashes_by_outbox_id
from blockchain.admin import ReadOnlyAdmin, tx_link


def _csv_response(events) -> StreamingHttpResponse:
    response = StreamingHttpResponse(export_rows(events), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    return response


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """The log is append-only (a DB trigger refuses UPDATE/DELETE); the admin offers nothing else."""

    list_display = ("at", "actor_label", "role", "source", "action", "subject", "status_code", "ip")
    list_filter = ("source", "role", "subject_type", ("at", admin.DateFieldListFilter))
    search_fields = ("actor_label", "action", "subject_id", "request_id", "path", "ip")
    date_hierarchy = "at"
    list_per_page = 100
    actions = ("export_selected_csv",)
    change_list_template = "admin/audit/auditevent/change_list.html"
    # The export's columns, with the outbox ids shown as linked transactions and the changes as a table.
    fields = tuple(
        {"tx_hashes": "transactions", "changes": "changes_table"}.get(column, column)
        for column in EXPORT_COLUMNS
        if column != "id"
    )
    readonly_fields = fields

    @admin.display(description="subject")
    def subject(self, obj: AuditEvent) -> str:
        return f"{obj.subject_type} {obj.subject_id}".strip()

    @admin.display(description="chain transactions")
    def transactions(self, obj: AuditEvent) -> str:
        hashes = tx_hashes_by_outbox_id(obj.outbox_ids)
        rows = []
        for outbox_id in obj.outbox_ids:
            tx_hash = hashes.get(outbox_id) or ""
            link = reverse("admin:blockchain_chaintransaction_change", args=[outbox_id])
            rows.append((link, outbox_id, tx_link(tx_hash) if tx_hash else "not sent yet"))
        return format_html_join("", '<a href="{}">outbox #{}</a> {}<br>', rows) or "—"

    @admin.display(description="changes")
    def changes_table(self, obj: AuditEvent) -> str:
        if not obj.changes:
            return "—"
        rows = [
            (change["op"], change["model"], change["pk"], name, json.dumps(before), json.dumps(after))
            for change in obj.changes
            for name, (before, after) in change["fields"].items()
        ]
        body = format_html_join(
            "", "<tr><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows
        )
        return format_html(
            "<table><thead><tr><th>op</th><th>row</th><th>field</th><th>before</th><th>after</th>"
            "</tr></thead><tbody>{}</tbody></table>",
            body,
        )

    @admin.action(description="Export selected events as CSV", permissions=["view"])
    def export_selected_csv(self, request, queryset):
        return _csv_response(queryset)

    def get_urls(self):
        export = self.admin_site.admin_view(self.export_filtered_csv)
        return [path("export/", export, name="audit_auditevent_export"), *super().get_urls()]

    def export_filtered_csv(self, request):
        """The whole list as currently filtered and searched, not just one page."""
        if not self.has_view_permission(request):
            from django.core.exceptions import PermissionDenied

            raise PermissionDenied
        changelist = self.get_changelist_instance(request)
        return _csv_response(changelist.get_queryset(request))
