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
