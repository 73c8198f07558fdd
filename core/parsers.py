"""Request parsers that refuse the NUL character in every string of a body, whatever its content type
(JSON, form, multipart), with a 400 naming each field: PostgreSQL stores no NUL in text or jsonb, so
one would otherwise reach the database as a DataError (a 500). Query strings get the same check in
`core.middleware.RefuseNulQueryMiddleware`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import QueryDict
from rest_framework import parsers
from rest_framework.exceptions import ValidationError

NUL = "\x00"
NUL_MESSAGE = "NUL characters (\\u0000) are not allowed."


def nul_fields(value: Any, path: str = "") -> list[str]:
    """Where NUL occurs in `value`, as field paths (`items[0].document.name`); keys count too."""
    if isinstance(value, str):
        return [path or "non_field_errors"] if NUL in value else []
    found: list[str] = []
    if isinstance(value, QueryDict):
        for key, values in value.lists():
            where = f"{path}.{key}" if path else key
            if NUL in key:
                found.append(where)
            else:
                found.extend(p for v in values for p in nul_fields(v, where))
        return found
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and NUL in key:
                found.append(where)
            else:
                found.extend(nul_fields(item, where))
        return found
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found.extend(nul_fields(item, f"{path}[{index}]"))
    return found


def refuse_nul(value: Any) -> None:
    """Raise a 400 (`code: nul_character`) naming every field of `value` that holds a NUL."""
    fields = nul_fields(value)
    if fields:
        raise ValidationError(
            {field.replace(NUL, "\\u0000"): [NUL_MESSAGE] for field in fields}, code="nul_character"
        )


class _RefusesNul:
    def parse(self, stream, media_type=None, parser_context=None):
        parsed = super().parse(stream, media_type, parser_context)
        refuse_nul(parsed.data if isinstance(parsed, parsers.DataAndFiles) else parsed)
        return parsed


class JSONParser(_RefusesNul, parsers.JSONParser):
    pass


class FormParser(_RefusesNul, parsers.FormParser):
    pass


class MultiPartParser(_RefusesNul, parsers.MultiPartParser):
    pass
