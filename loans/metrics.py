"""Prometheus series of the loans app."""

from prometheus_client import Counter

LOAN_VERIFICATIONS = Counter(
    "loan_verifications_total", "Loans verified against the chain, by outcome", ["outcome"]
)
