"""The compliance dashboard in the admin (/admin/dashboard/) and the index link to it.

Both views are wrapped with `admin.site.admin_view` in config/urls.py, so the admin's login,
staff check, CSRF and never-cache handling apply; the reads are in compliance/selectors.py.
"""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import reverse

from compliance.selectors import compliance_dashboard

# The staff groups (accounts/roles.py) whose members work from the dashboard.
DASHBOARD_GROUPS = ("compliance", "operator")


def can_view_dashboard(user) -> bool:
    """Active staff in the compliance or operator group, and superusers."""
    if not (user.is_active and user.is_staff):
        return False
    return user.is_superuser or user.groups.filter(name__in=DASHBOARD_GROUPS).exists()


def dashboard_view(request) -> TemplateResponse:
    """Review queues, open AML alerts, chain sync, outbox health and the last drift reports."""
    if not can_view_dashboard(request.user):
        raise PermissionDenied
    context = {
        **admin.site.each_context(request),
        "title": "Compliance dashboard",
        "dashboard": compliance_dashboard(user=request.user),
    }
    return TemplateResponse(request, "admin/compliance_dashboard.html", context)


def admin_index(request, extra_context: dict | None = None) -> TemplateResponse:
    """The admin index, plus the dashboard's URL for those who may open it (templates/admin/index.html
    shows the link only then, so nobody is sent to a 403)."""
    extra = dict(extra_context or {})
    if can_view_dashboard(request.user):
        extra["compliance_dashboard_url"] = reverse("admin-dashboard")
    return admin.site.index(request, extra_context=extra)
