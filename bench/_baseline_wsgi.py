"""WSGI entry point of the API bench's gunicorn: config.wsgi's application plus the baseline route
(bench/_baseline.py). Production serves config.wsgi, which never routes to it."""

from bench._baseline import build_application

application = build_application()
