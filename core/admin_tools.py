"""Shared pieces of the admin: bulk actions run through services, role-declared permissions, decisions
on an object's own page, and how amounts read."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import update_wrapper
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from core.api import DomainError

# Who a declared permission stands for, in refusal messages.
ROLE_NAMES = {"compliance": "compliance officers", "operator": "operators"}


def apply_to_each(modeladmin, request, objects: Iterable, action: Callable, *, done: str) -> None:
    """Run a service `action(obj)` for every selected object, each on its own; report how many were
    done and why the others were refused (a refusal never stops the rest)."""
    count, refused = 0, []
    for obj in objects:
        try:
            action(obj)
            count += 1
        except DomainError as exc:
            refused.append(f"{obj}: {exc.message}")
    modeladmin.message_user(request, f"{count} {done}", messages.SUCCESS)
    if refused:
        modeladmin.message_user(request, "Refused: " + "; ".join(refused), messages.WARNING)


def money(value: Decimal | int | str | None, currency: str) -> str:
    """An amount as people read it: thousands separated, at least two decimals (more only when the
    amount has them, so nothing is rounded away) and its currency, e.g. "12,000.00 USD"."""
    if value is None or value == "":
        return "—"
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return f"{value} {currency}".strip()
    if not amount.is_finite():
        return f"{value} {currency}".strip()
    places = max(2, -amount.normalize().as_tuple().exponent)
    return f"{amount:,.{places}f} {currency}".strip()


def money_display(field: str, *, currency: str | Callable[[Any], str], description: str | None = None):
    """A ModelAdmin display of the decimal `field` with its currency (a code, or read from the row),
    for list_display and read-only fields; sorts by the field."""

    @admin.display(description=description or field.replace("_", " "), ordering=field)
    def show(_modeladmin, obj) -> str:
        code = currency(obj) if callable(currency) else currency
        return money(getattr(obj, field), code)

    show.__name__ = f"{field}_money"
    return show


class RoleActionsMixin:
    """Admin actions declare the role their API twin requires, e.g.
    `@admin.action(permissions=["operator"])`: Django lists and runs an action only for a user for
    whom one of the declared `has_<name>_permission` checks holds. An action that declares nothing
    runs for anyone who may *view* the model, so every action here declares one (a test walks them)."""

    def has_operator_permission(self, request) -> bool:
        return request.user.has_role("operator")

    def has_compliance_permission(self, request) -> bool:
        return request.user.has_role("compliance")


@dataclass(frozen=True)
class Decision:
    """A decision about one object, offered as a button on its admin page.

    `decide(obj, user, notes)` (with `reasons`: `decide(obj, user, notes, reason)`) calls the service
    that owns the rule and returns the object it saved; `done(saved)` says what happened. Like an
    admin action, a decision declares the permission it needs (`has_<permission>_permission`).
    `offered(obj)` only decides whether the button is shown: the service still has the last word."""

    name: str
    label: str
    permission: str
    decide: Callable[..., Any]
    done: Callable[[Any], str]
    notes_required: bool = False
    reasons: Sequence[tuple[str, str]] | None = None
    offered: Callable[[Any], bool] = lambda obj: True
    reasons_label: str = "Reason shown to the customer"
    notes_help: str = ""  # who will read the notes, said on the page that asks for them

    @property
    def needs_page(self) -> bool:
        """Decisions that need words from the officer go through a page that asks for them."""
        return self.notes_required or bool(self.reasons)


class DecisionsMixin(RoleActionsMixin):
    """Decision buttons on the change page (`decisions`), each at `<id>/decide/<name>/`.

    A decision that needs notes or a reason opens a page titled after it that asks for them; the
    others post straight from the change page. A user without the declared permission, or a refusal
    by the service, gets an error message and nothing changes."""

    decisions: Sequence[Decision] = ()
    change_form_template = "admin/decisions_change_form.html"
    decision_template = "admin/decision_confirm.html"

    def decision_subject(self, obj) -> str:
        """How the object is named in titles and messages."""
        return str(obj)

    def may_decide(self, request, decision: Decision) -> bool:
        return getattr(self, f"has_{decision.permission}_permission")(request)

    def get_urls(self):
        def wrap(view):
            def wrapper(*args, **kwargs):
                return self.admin_site.admin_view(view)(*args, **kwargs)

            wrapper.model_admin = self  # the audit log names the subject from it
            return update_wrapper(wrapper, view)

        name = f"{self.opts.app_label}_{self.opts.model_name}_decide"
        # Before Django's own "<path:object_id>/" catch-all, which would swallow this path.
        decide = path("<path:object_id>/decide/<str:decision>/", wrap(self.decision_view), name=name)
        return [decide, *super().get_urls()]

    def decision_url(self, obj, decision: Decision) -> str:
        name = f"admin:{self.opts.app_label}_{self.opts.model_name}_decide"
        return reverse(name, args=[quote(obj.pk), decision.name], current_app=self.admin_site.name)

    def _change_url(self, obj) -> str:
        name = f"admin:{self.opts.app_label}_{self.opts.model_name}_change"
        return reverse(name, args=[quote(obj.pk)], current_app=self.admin_site.name)

    def decision_buttons(self, request, obj) -> list[dict[str, Any]]:
        return [
            {"decision": d, "url": self.decision_url(obj, d)}
            for d in self.decisions
            if d.offered(obj) and self.may_decide(request, d)
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = dict(extra_context or {})
        obj = self.get_object(request, unquote(object_id))
        if obj is not None and self.has_view_permission(request, obj):
            extra["decisions"] = self.decision_buttons(request, obj)
            extra.setdefault("subtitle", self.decision_subject(obj))  # the heading names it as people do
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def decision_view(self, request, object_id, decision):
        chosen = next((d for d in self.decisions if d.name == decision), None)
        obj = self.get_object(request, unquote(object_id))
        if chosen is None or obj is None:
            raise Http404("No such decision or object.")
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        change_url = self._change_url(obj)
        subject = self.decision_subject(obj)
        if not self.may_decide(request, chosen):
            who = ROLE_NAMES.get(chosen.permission, chosen.permission)
            messages.error(request, f"“{chosen.label}” is for {who} only: {subject} was not changed.")
            return HttpResponseRedirect(change_url)
        if request.method != "POST" or not request.POST.get("apply"):
            return self._decision_page(request, obj, chosen)

        notes = request.POST.get("notes", "").strip()
        reason = request.POST.get("reason", "")
        errors = []
        if chosen.notes_required and not notes:
            errors.append("Write the notes for this decision.")
        if chosen.reasons and reason not in {value for value, _label in chosen.reasons}:
            errors.append("Choose a reason from the list.")
        if errors:  # the page again, with what was typed
            return self._decision_page(request, obj, chosen, notes=notes, reason=reason, errors=errors)
        arguments = (obj, request.user, notes, reason) if chosen.reasons else (obj, request.user, notes)
        try:
            saved = chosen.decide(*arguments)
        except DomainError as exc:
            messages.error(request, f"{chosen.label} refused: {exc.message} {subject} was not changed.")
            return HttpResponseRedirect(change_url)
        messages.success(request, chosen.done(saved))
        return HttpResponseRedirect(change_url)

    def _decision_page(
        self, request, obj, decision: Decision, *, notes: str = "", reason: str = "", errors=()
    ) -> TemplateResponse:
        subject = self.decision_subject(obj)
        context = {
            **self.admin_site.each_context(request),
            "title": f"{decision.label}: {self.opts.verbose_name} “{subject}”",
            "subtitle": None,
            "opts": self.opts,
            "original": obj,
            "subject": subject,
            "decision": decision,
            "notes": notes,
            "reason": reason,
            "errors": list(errors),
            "change_url": self._change_url(obj),
            "has_view_permission": True,
        }
        return TemplateResponse(request, self.decision_template, context)
