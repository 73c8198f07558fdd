"""Registration only: the events the loans app projects and its rebuild reset."""

from __future__ import annotations

from blockchain.indexing.registry import register_projection, register_rebuild_hook, register_reconciler
from loans.onchain import projection
from loans.onchain.reads import reconcile_loans

register_projection(
    "loans.loan",
    kinds=[(projection.ARTIFACT, "LoanStored"), (projection.ARTIFACT, "LoanRepaid")],
    keys=projection.loan_keys,
    project=projection.project_loans,
)
register_rebuild_hook("loans", projection.reset_chain_facts)
register_reconciler("loans", reconcile_loans)
