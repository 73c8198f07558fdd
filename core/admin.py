"""The beat schedule's admin with its actions declared: django-celery-beat's own actions declare no
permission, so anyone allowed to view periodic tasks could run, enable or disable them."""

from __future__ import annotations

from django.contrib import admin
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import PeriodicTask

from core.admin_tools import RoleActionsMixin

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
