"""The beat schedule's admin with its actions declared: django-celery-beat's own actions declare no
permission, so anyone allowed to view periodic tasks could run, enable or disable them."""

from __future__ import annotations

from django.contrib import admin
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import PeriodicTask

from core.admin_tools import RoleActionsMixin
from core.models import IdempotencyRecord

admin.site.unregister(PeriodicTask)


@admin.register(PeriodicTask)
class PeriodicTaskAdmin(RoleActionsMixin, beat_admin.PeriodicTaskAdmin):
    @admin.action(description="Enable selected tasks", permissions=["operator"])
    def enable_tasks(self, request, queryset):
        return super().enable_tasks(request, queryset)

    @admin.action(description="Disable selected tasks", permissions=["operator"])
    def disable_tasks(self, request, queryset):
        return super().disable_tasks(request, queryset)

    @admin.action(description="Toggle activity of selected tasks", permissions=["operator"])
    def toggle_tasks(self, request, queryset):
        return super().toggle_tasks(request, queryset)

    @admin.action(description="Run selected tasks now", permissions=["operator"])
    def run_tasks(self, request, queryset):
        return super().run_tasks(request, queryset)


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(RoleActionsMixin, admin.ModelAdmin):
    """Idempotency-Key records: written by the API's middleware; people look, they do not edit."""

    list_display = ("created_at", "user", "method", "path", "key", "state", "status_code", "completed_at")
    list_filter = ("state", "method")
    search_fields = ("key", "path", "user__username")
    date_hierarchy = "created_at"
    list_select_related = ("user",)
    exclude = ("body",)
    readonly_fields = ("response_body",)

    @admin.display(description="response body")
    def response_body(self, obj) -> str:
        return bytes(obj.body).decode("utf-8", "replace")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
