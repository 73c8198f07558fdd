"""Which metric names a PromQL expression reads, and which names the platform exposes: shared by the
checks of the alert rules (tests/platform/test_metrics.py) and the Grafana dashboards
(tests/platform/test_deploy_artifacts.py)."""

from __future__ import annotations

import re

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
    """Every metric family this process's registry exposes (the platform's collectors are imported by
    Django's app loading), plus the scrape-time gauges."""
    from prometheus_client import REGISTRY

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
