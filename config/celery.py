"""Celery application: Redis broker (`make run` embeds a redis-server when REDIS_URL is unset), DB-backed
beat schedule."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import before_task_publish, setup_logging, task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("ledgerbridge")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.conf.include = ["core.tasks"]


@task_prerun.connect
def _task_context(task_id=None, task=None, **kwargs) -> None:
    """Log lines of a task carry its id and name, and the request id of the request that queued it."""
    from core.metrics import task_started
    from core.request_context import request_id_var, task_id_var, task_name_var

    request = getattr(task, "request", None)
    headers = getattr(request, "headers", None) or {}
    tokens = (
        task_id_var.set(task_id),
        task_name_var.set(getattr(task, "name", None)),
        request_id_var.set(getattr(request, "request_id", None) or headers.get("request_id")),
    )
    if request is not None:
        request.log_context_tokens = tokens  # reset after the task: an eager task runs inside a request
    task_started(task=task)


@task_postrun.connect
def _task_outcome(task=None, **kwargs) -> None:
    from core.metrics import task_finished
    from core.request_context import request_id_var, task_id_var, task_name_var

    task_finished(task=task, **kwargs)
    tokens = getattr(getattr(task, "request", None), "log_context_tokens", None)
    if tokens:
        for var, token in zip((task_id_var, task_name_var, request_id_var), tokens, strict=True):
            try:
                var.reset(token)
            except ValueError:  # set in another context (a pool that switches them): just clear it
                var.set(None)


@before_task_publish.connect
def _propagate_request_id(headers=None, **_kwargs) -> None:
    from core.request_context import current_request_id

    request_id = current_request_id()
    if headers is not None and request_id:
        headers["request_id"] = request_id


@setup_logging.connect
def _django_logging(**_kwargs) -> None:
    """Workers log through Django's LOGGING (JSON, redacted), not Celery's own format."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


@task_prerun.connect
def _close_stale_db_connections_before(**_kwargs) -> None:
    # A worker process lives for days; drop connections past CONN_MAX_AGE or broken by a DB restart.
    from django.db import close_old_connections

    close_old_connections()


@task_postrun.connect
def _close_stale_db_connections_after(**_kwargs) -> None:
    from django.db import close_old_connections

    close_old_connections()
