"""Signals other apps listen to without webhooks importing them (the audit log records these)."""

from django.dispatch import Signal

# Sent inside the transaction that disables an endpoint: kwargs `endpoint`, `reason`.
endpoint_disabled = Signal()
