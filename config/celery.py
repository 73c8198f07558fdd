"""Celery application: Redis broker (or the embedded filesystem broker), DB-backed beat schedule."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("ledgerbridge")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.conf.include = ["config.tasks"]


@task_prerun.connect
def _close_stale_db_connections_before(**_kwargs) -> None:
    # A worker process lives for days; drop connections past CONN_MAX_AGE or broken by a DB restart.
    from django.db import close_old_connections

    close_old_connections()


@task_postrun.connect
def _close_stale_db_connections_after(**_kwargs) -> None:
    from django.db import close_old_connections

    close_old_connections()
