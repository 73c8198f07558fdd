"""Optional error reporting to Sentry, on when SENTRY_DSN is set, with the logs' secret scrubbing.

Every string of an outgoing event (messages, exception values, breadcrumbs, request data, tags,
extra context, even keys) goes through `core.log_format.redact`, the function that scrubs the log
lines: the signer key and password, SECRET_KEY, the database password, the health/metrics tokens,
the node URL's credentials and any secret registered at run time never leave the process.
On top of that nothing personal is sent (`send_default_pii=False`), request bodies are never sent
(a login body holds a user's password, which no scrubber knows), and stack frames carry no local
variables (a key held as bytes would not be recognised as a secret).

Called once from config/settings.py; `before_send` is the hook the tests drive.
"""

from __future__ import annotations

from typing import Any

from core.log_format import redact

__all__ = ["before_breadcrumb", "before_send", "init_sentry", "redact_event"]


def redact_event(value: Any) -> Any:
    """A copy of `value` with every string (dict keys included) redacted, at any depth."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact_event(key): redact_event(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_event(item) for item in value]
    if isinstance(value, (bytes, bytearray)):
        return redact(bytes(value).decode("utf-8", "replace"))
    return value


def before_send(event: dict, hint: dict | None = None) -> dict | None:
    """Sentry's before_send (and before_send_transaction): the event with every string redacted."""
    return redact_event(event)


def before_breadcrumb(crumb: dict, hint: dict | None = None) -> dict | None:
    return redact_event(crumb)


def init_sentry(
    *,
    dsn: str,
    environment: str,
    release: str = "",
    traces_sample_rate: float = 0.0,
    **options: Any,
) -> bool:
    """Start the Sentry client when `dsn` is set (returns whether it did). `options` go to
    `sentry_sdk.init` as they are (the tests pass a transport and turn the integrations off)."""
    if not dsn:
        return False
    import sentry_sdk

    if "integrations" not in options:
        from sentry_sdk.integrations.celery import CeleryIntegration
        from sentry_sdk.integrations.django import DjangoIntegration

        options["integrations"] = [DjangoIntegration(), CeleryIntegration()]
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release or None,
        traces_sample_rate=traces_sample_rate,
        send_default_pii=False,
        max_request_body_size="never",
        include_local_variables=False,
        before_send=before_send,
        before_send_transaction=before_send,
        before_breadcrumb=before_breadcrumb,
        **options,
    )
    return True
