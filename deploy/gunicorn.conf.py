"""gunicorn settings for the web process (`gunicorn -c deploy/gunicorn.conf.py config.wsgi:application`).

Every value can be overridden from the environment so the same file serves `make run`, the bench,
docker compose and the systemd unit.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Sync workers: the API is DB-bound and short; 2*cores+1 is gunicorn's own rule of thumb.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Recycle workers now and then so a slow leak never takes the site down.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "200"))
# Import the app once in the master: faster worker boot and shared read-only memory.
preload_app = os.environ.get("GUNICORN_PRELOAD", "true").lower() == "true"
# nginx terminates TLS on the same host (or the compose network) and sets X-Forwarded-*.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Request ids come from nginx ($request_id) so one id follows a request through every log.
# JSON like the application's own lines; the request id is the one Django echoes back.
access_log_format = (
    '{"logger": "gunicorn.access", "remote": "%(h)s", "request": "%(r)s", "status": %(s)s, '
    '"bytes": "%(b)s", "duration_ms": %(M)s, "request_id": "%({x-request-id}o)s"}'
)
limit_request_line = 8190
limit_request_fields = 100


def child_exit(server, worker) -> None:
    """A recycled worker's live gauges leave the multiprocess scrape (its counters stay summed)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        from core.metrics_process import process_identity

        multiprocess.mark_process_dead(process_identity(worker.pid))
