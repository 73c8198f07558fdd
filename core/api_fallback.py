"""The last URL pattern under /api/: a path no endpoint matches answers a JSON 404 like every other
API error (API.md), never Django's HTML page, in DEBUG too."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.urls import Resolver404, resolve
from django.utils.http import escape_leading_slashes
from django.views.decorators.csrf import csrf_exempt


def _with_slash_resolves(request: HttpRequest) -> bool:
    """Whether the path with a slash appended names a real endpoint (not this fallback): what
    CommonMiddleware's APPEND_SLASH would have redirected to before the fallback matched."""
    if not settings.APPEND_SLASH or request.path_info.endswith("/"):
        return False
    try:
        match = resolve(request.path_info + "/")
    except Resolver404:
        return False
    return match.func is not api_not_found


@csrf_exempt  # it changes nothing; an unsafe method with a session cookie still gets the JSON 404
def api_not_found(request: HttpRequest, unmatched: str = "") -> HttpResponse:
    """No endpoint at this /api/ path: 404 `not_found` in JSON, pointing at the API index. A GET
    missing only its trailing slash is redirected there, as APPEND_SLASH does for the rest."""
    if _with_slash_resolves(request):
        if request.method in ("GET", "HEAD"):
            return HttpResponsePermanentRedirect(
                escape_leading_slashes(request.get_full_path(force_append_slash=True))
            )
        message = f"No API endpoint at {request.path}; the endpoint is {request.path}/ (with the slash)."
    else:
        message = f"No API endpoint at {request.path}. GET /api/ lists the endpoints."
    return JsonResponse({"code": "not_found", "message": message, "path": request.path}, status=404)
