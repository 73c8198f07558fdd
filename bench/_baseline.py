"""The API bench's ceiling: the platform's own WSGI application (same settings, middleware and
gunicorn configuration) with one extra route, `GET /bench/baseline/`, a minimal Django view returning a
small JSON object. Only the bench loads it (its gunicorn serves `bench._baseline_wsgi:application`,
its in-process profile overrides ROOT_URLCONF); production's `config.wsgi` and `config.urls` never
name it."""

from __future__ import annotations

import os

from django.http import JsonResponse

BASELINE_PATH = "/bench/baseline/"
URLCONF = __name__


def baseline(request):
    return JsonResponse({"ok": True, "service": "ledgerbridge", "n": 1})


_HANDLERS = ("handler400", "handler403", "handler404", "handler500")


def __getattr__(name: str):
    # The URL conf's contents, built on first use (config.urls needs the app registry ready).
    if name != "urlpatterns" and name not in _HANDLERS:
        raise AttributeError(name)  # e.g. the import system asking for __path__
    from config import urls

    if name == "urlpatterns":
        from django.urls import path

        # First, so the API's catch-all 404 never sees it.
        return [path(BASELINE_PATH.strip("/") + "/", baseline, name="bench-baseline"), *urls.urlpatterns]
    return getattr(urls, name)  # the platform's error pages stay in force


def build_application():
    """The platform's WSGI application with this module as its URL conf (bench._baseline_wsgi)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application

    app = get_wsgi_application()
    settings.ROOT_URLCONF = URLCONF
    return app
