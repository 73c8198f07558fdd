"""Unknown query parameters are refused, not ignored.

A list filtered by a misspelt parameter (`?batch_id=` where the filter is `batch`) used to answer with
every row, which reads as "the filter matched everything". `KnownQueryParameters` is the first of the
API's default filter backends: before anything is filtered, every query parameter must be one the view
understands, else 400 `unknown_query_parameter` naming the unknown ones and the accepted ones.

What a view accepts is read from what it already declares, so there is no second list to keep: the
filters of its filterset (django-filter), the parameters of its other filter backends (ordering,
search) and of its paginator, DRF's `format`, and `extra_query_params`, a view attribute for the
parameters a view reads itself.
"""

from __future__ import annotations

from collections.abc import Iterable

from django import forms
from rest_framework.settings import api_settings

from core.api import DomainError


class UnknownQueryParameter(DomainError):
    default_code = "unknown_query_parameter"


def _filterset_parameters(filterset_class) -> set[str]:
    """The query parameters a django-filter FilterSet reads: one per filter, or one per part of a
    multi-part filter (a range's `x_min`/`x_max`, `x_after`/`x_before`)."""
    names: set[str] = set()
    for name, filter_ in filterset_class.base_filters.items():
        widget = filter_.field.widget
        if isinstance(widget, forms.MultiWidget):
            suffixes = getattr(widget, "suffixes", None) or [str(i) for i in range(len(widget.widgets))]
            suffixed = getattr(widget, "suffixed", lambda n, s: f"{n}_{s}" if s else n)
            names.update(suffixed(name, suffix) for suffix in suffixes)
        else:
            names.add(name)
    return names


def _backend_parameters(backend, view, queryset) -> set[str]:
    if hasattr(backend, "get_filterset_class"):  # django-filter
        filterset_class = backend.get_filterset_class(view, queryset)
        return _filterset_parameters(filterset_class) if filterset_class else set()
    names = {getattr(backend, attr, None) for attr in ("ordering_param", "search_param")}
    if hasattr(backend, "get_schema_operation_parameters"):
        names.update(p.get("name") for p in backend.get_schema_operation_parameters(view))
    return {n for n in names if n}


def _paginator_parameters(view) -> set[str]:
    paginator = getattr(view, "paginator", None)
    if paginator is None:
        return set()
    names = {p.get("name") for p in paginator.get_schema_operation_parameters(view)}
    return {n for n in names if n}


def accepted_query_parameters(view, queryset=None) -> list[str]:
    """Every query parameter `view` understands, sorted."""
    names: set[str] = set(getattr(view, "extra_query_params", ()))
    if api_settings.URL_FORMAT_OVERRIDE:
        names.add(api_settings.URL_FORMAT_OVERRIDE)
    for backend_class in getattr(view, "filter_backends", ()):
        if backend_class is not KnownQueryParameters:
            names |= _backend_parameters(backend_class(), view, queryset)
    names |= _paginator_parameters(view)
    return sorted(names)


def refuse_unknown(received: Iterable[str], accepted: Iterable[str]) -> None:
    """400 `unknown_query_parameter` when `received` holds a name outside `accepted`."""
    accepted = sorted(set(accepted))
    unknown = sorted(set(received) - set(accepted))
    if unknown:
        raise UnknownQueryParameter(
            f"Unknown query parameter{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}. "
            f"Accepted here: {', '.join(accepted) or 'none'}.",
            unknown=unknown,
            accepted=accepted,
            errors={name: ["Unknown query parameter."] for name in unknown},
        )


class KnownQueryParameters:
    """A filter backend that filters nothing: it refuses a request whose query string names a
    parameter the view does not accept (see the module's docstring). It runs wherever DRF filters a
    queryset: lists, and the object lookup of detail views and their actions."""

    def filter_queryset(self, request, queryset, view):
        refuse_unknown(request.query_params.keys(), accepted_query_parameters(view, queryset))
        return queryset

    def get_schema_operation_parameters(self, view) -> list:
        return []  # it adds no parameter; the others document theirs
