"""Prometheus metrics for the platform's processes: HTTP, database, Celery tasks, and `/metrics`.

Web workers, Celery workers and beat are separate processes. With PROMETHEUS_MULTIPROC_DIR set
(`make run`, the systemd units), each writes its samples to that directory and `/metrics` in any web
worker serves the sum, so task outcomes counted in a Celery worker are visible to one scrape.
Without it (a single dev process, tests) this process's own registry is served.
"""

from __future__ import annotations

import functools
import os
import re
import time

from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests answered, by route pattern", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds", "HTTP request latency", ["method", "route"], buckets=_LATENCY_BUCKETS
)
DB_QUERIES = Counter("db_queries_total", "SQL statements executed", ["alias", "outcome"])
DB_LATENCY = Histogram(
    "db_query_duration_seconds",
    "SQL statement latency",
    ["alias"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5),
)
DB_CONNECTIONS = Counter("db_connections_opened_total", "Database connections opened", ["alias"])
CELERY_TASKS = Counter("celery_tasks_total", "Celery task executions by outcome", ["task", "outcome"])
CELERY_TASK_LATENCY = Histogram(
    "celery_task_duration_seconds", "Celery task run time", ["task"], buckets=_LATENCY_BUCKETS
)


_NAMED_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")


@functools.lru_cache(maxsize=1024)
def _readable_route(route: str) -> str:
    """A DRF router's regex `api/loans/(?P<loan_id>[A-Za-z0-9-]{1,100})/approve/$` reads as
    `/api/loans/<loan_id>/approve/`."""
    return "/" + _NAMED_GROUP.sub(r"<\1>", route).replace("^", "").replace("$", "")


def _route(request) -> str:
    """The URL pattern, not the path: ids would make one series per object."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return _readable_route(match.route or match.view_name or "unnamed")


class HttpMetricsMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        route = _route(request)
        HTTP_LATENCY.labels(request.method, route).observe(time.perf_counter() - started)
        HTTP_REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        return response


class _QueryTimer:
    """A connection execute wrapper: counts and times every statement on that connection."""

    def __init__(self, alias: str) -> None:
        # Label lookups take a lock: resolve the children once, not per statement.
        self.latency = DB_LATENCY.labels(alias)
        self.ok = DB_QUERIES.labels(alias, "ok")
        self.errors = DB_QUERIES.labels(alias, "error")

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            result = execute(sql, params, many, context)
        except Exception:
            self.errors.inc()
            raise
        finally:
            self.latency.observe(time.perf_counter() - started)
        self.ok.inc()
        return result


def instrument_connection(sender, connection, **_kwargs) -> None:
    """`connection_created` receiver: add the timer once per connection wrapper."""
    DB_CONNECTIONS.labels(connection.alias).inc()
    if not any(isinstance(w, _QueryTimer) for w in connection.execute_wrappers):
        connection.execute_wrappers.append(_QueryTimer(connection.alias))


def task_started(task=None, **_kwargs) -> None:
    # Kept on the task's request: it goes away with the task, whatever happens to postrun.
    if task is not None:
        task.request.metrics_started_at = time.perf_counter()


def task_finished(task=None, state=None, **_kwargs) -> None:
    name = getattr(task, "name", "unknown")
    started = getattr(getattr(task, "request", None), "metrics_started_at", None)
    if started is not None:
        CELERY_TASK_LATENCY.labels(name).observe(time.perf_counter() - started)
    CELERY_TASKS.labels(name, (state or "unknown").lower()).inc()


def metrics_registry() -> CollectorRegistry:
    """The registry a scrape reads: every process's samples in multiprocess mode, else this one's."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    for collector in _scrape_time_collectors:
        registry.register(collector)
    return registry


_scrape_time_collectors: list = []


def register_scrape_time_collector(collector) -> None:
    """A collector computed from the DB when scraped (an app registers it in `AppConfig.ready()`):
    in this process's registry, and in the multiprocess scrape registry too."""
    if any(type(known) is type(collector) for known in _scrape_time_collectors):
        return
    _scrape_time_collectors.append(collector)
    REGISTRY.register(collector)


@never_cache
@require_GET
def metrics(request) -> HttpResponse:
    return HttpResponse(generate_latest(metrics_registry()), content_type=CONTENT_TYPE_LATEST)
