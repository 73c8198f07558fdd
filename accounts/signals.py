"""Signals other apps listen to (accounts never imports them)."""

from django.dispatch import Signal

# Sent inside the binding's transaction when a user proves ownership of a wallet; kwargs: user.
wallet_bound = Signal()
