"""Refusals made before any view runs."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse

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


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)} MiB" if n >= 1024 * 1024 else f"{n // 1024} KiB"


class RequestBodyLimitMiddleware:
    """A body larger than MAX_REQUEST_BODY_BYTES is a 413 before anything reads it: uploads to the
    public verifier were only limited by nginx, and not every deployment has nginx in front."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # Django reads no body for an unparseable length
        limit = settings.MAX_REQUEST_BODY_BYTES
        if length > limit:
            message = f"The request body is larger than {_size(limit)}."
            if request.path.startswith("/api/"):
                return JsonResponse({"code": "too_large", "message": message}, status=413)
            return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
