"""Shared pieces of the admin."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.contrib import messages

from core.api import DomainError


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


class RoleActionsMixin:
    """Admin actions declare the role their API twin requires, e.g.
    `@admin.action(permissions=["operator"])`: Django lists and runs an action only for a user for
    whom one of the declared `has_<name>_permission` checks holds. An action that declares nothing
    runs for anyone who may *view* the model, so every action here declares one (a test walks them)."""

    def has_operator_permission(self, request) -> bool:
        return request.user.has_role("operator")

    def has_compliance_permission(self, request) -> bool:
        return request.user.has_role("compliance")
