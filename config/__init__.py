from core.metrics_process import configure_process_identity

configure_process_identity()  # before any metric exists (config is the first package every process loads)

from config.celery import app as celery_app  # noqa: E402

__all__ = ("celery_app",)
