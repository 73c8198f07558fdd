"""Admin actions for compliance decisions: a page asks for the notes (and, where the subject is told
why, a reason from a fixed list), then each selected object goes through the service (refusals are
reported, never half-applied)."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages
from django.template.response import TemplateResponse

from core.admin_tools import apply_to_each


def compliance_decision(
    *,
    name: str,
    verb: str,
    decide: Callable,
    notes_required: bool,
    permission: str = "compliance",
    reasons: list[tuple[str, str]] | None = None,
    done: str = "done.",
) -> Callable:
    """An admin action `name` calling `decide(obj, officer, notes)` for every selected object; with
    `reasons` (choices), the page also asks for one and calls `decide(obj, officer, notes, reason)`.
    The success message is the count and `done` ("2 campaign(s) approved; …")."""

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
                    "title": f"{verb} the selected {modeladmin.model._meta.verbose_name_plural}",
                    "action": name,
                    "verb": verb,
                    "notes_required": notes_required,
                    "reasons": reasons,
                },
            )
        notes = request.POST.get("notes", "").strip()
        if notes_required and not notes:
            modeladmin.message_user(request, f"{verb}: notes are required.", messages.ERROR)
            return None
        if reasons is None:
            apply_to_each(
                modeladmin, request, queryset, lambda obj: decide(obj, request.user, notes), done=done
            )
            return None
        reason = request.POST.get("reason", "")
        if reason not in {value for value, _label in reasons}:
            modeladmin.message_user(request, f"{verb}: choose a reason from the list.", messages.ERROR)
            return None
        apply_to_each(
            modeladmin,
            request,
            queryset,
            lambda obj: decide(obj, request.user, notes, reason),
            done=done,
        )
        return None

    action.__name__ = name
    return action
