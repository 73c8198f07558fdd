"""Refusals made before any view runs."""

from __future__ import annotations

from django.http import HttpResponseBadRequest, JsonResponse

from core.parsers import NUL_MESSAGE, nul_fields


class RefuseNulQueryMiddleware:
    """A query string holding NUL is a 400 naming the parameter (the API's error envelope; a plain
    page for the admin and the verifier): filters and admin searches would send it to PostgreSQL,
    which refuses NUL in text. Bodies get the same check in `core.parsers`."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        if "%00" in request.META.get("QUERY_STRING", "") or "\x00" in request.META.get("QUERY_STRING", ""):
            fields = nul_fields(request.GET)
            if fields:
                if request.path.startswith("/api/"):
                    errors = {field.replace("\x00", "\\u0000"): [NUL_MESSAGE] for field in fields}
                    return JsonResponse(
                        {
                            "code": "nul_character",
                            "message": f"Invalid input: {NUL_MESSAGE}",
                            "errors": errors,
                        },
                        status=400,
                    )
                return HttpResponseBadRequest("NUL characters are not allowed in the query string.")
        return self.get_response(request)
