"""Admin actions for compliance decisions: a page asks for the notes, then each selected object
goes through the service (refusals are reported, never half-applied)."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages
from django.template.response import TemplateResponse

from core.admin_tools import apply_to_each


def compliance_decision(
    *, name: str, verb: str, decide: Callable, notes_required: bool, permission: str = "compliance"
) -> Callable:
    """An admin action `name` calling `decide(obj, officer, notes)` for every selected object."""

    @admin.action(description=f"{verb} the selected", permissions=[permission])
    def action(modeladmin, request, queryset):
        if not request.POST.get("apply"):
            return TemplateResponse(
                request,
                "admin/compliance_decision.html",
                {
                    **modeladmin.admin_site.each_context(request),
                    "opts": modeladmin.model._meta,
                    "queryset": queryset,
                    "action": name,
                    "verb": verb,
                    "notes_required": notes_required,
                },
            )
        notes = request.POST.get("notes", "").strip()
        if notes_required and not notes:
            modeladmin.message_user(request, f"{verb}: notes are required.", messages.ERROR)
            return None
        apply_to_each(
            modeladmin, request, queryset, lambda obj: decide(obj, request.user, notes), done="done."
        )
        return None

    action.__name__ = name
    return action
