"""Which metric names a PromQL expression reads, and which names the platform exposes: shared by the
checks of the alert rules (tests/platform/test_metrics.py) and the Grafana dashboards
(tests/platform/test_deploy_artifacts.py)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

# Gauges computed from the database at scrape time (OutboxCollector): registered only once an app's
# ready() ran with a database, so named here as well.
SCRAPE_TIME_SERIES = {"outbox_rows", "outbox_oldest_age_seconds"}


def series_in(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers that are not functions, keywords, label
    matchers, grouping labels or durations."""
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\b(by|without)\s*\([^)]*\)", "", expr)  # grouping labels
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # range selectors
    names = set(re.findall(r"(?<![\w.])([a-z_][a-z0-9_]*)\b(?!\s*\()", expr))
    return names - {"and", "or", "unless", "bool"}


def platform_series() -> set[str]:
    """Every metric family the platform's processes expose, plus the scrape-time gauges: first this
    process imports what a running web process and worker have imported (the middleware a WSGI
    handler loads, the URLconf's views, the Celery tasks), so the answer does not depend on which
    tests ran before."""
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.urls import get_resolver
    from prometheus_client import REGISTRY

    from config.celery import app

    WSGIHandler()
    _ = get_resolver().url_patterns
    app.loader.import_default_modules()
    for module in sorted(Path(settings.BASE_DIR).glob("*/**/metrics.py")):  # collectors tasks import late
        relative = module.relative_to(settings.BASE_DIR).with_suffix("")
        if relative.parts[0] not in (".venv", "node_modules", "tests", "bench"):
            importlib.import_module(".".join(relative.parts))
    return {family.name for family in REGISTRY.collect()} | SCRAPE_TIME_SERIES


def unknown_series(expr: str, known: set[str]) -> set[str]:
    """Names in `expr` that are no exposed series (histogram `_bucket/_count/_sum` and counter
    `_total` suffixes resolved)."""
    unknown = set()
    for name in series_in(expr):
        base = re.sub(r"_(bucket|count|sum)$", "", name)
        if base not in known and base.removesuffix("_total") not in known:
            unknown.add(name)
    return unknown
