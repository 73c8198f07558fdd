"""Registration only: the events the issuers app projects and its rebuild reset."""

from __future__ import annotations

from blockchain.indexing.registry import register_projection, register_rebuild_hook, register_reconciler
from issuers.onchain import projection
from issuers.onchain.reads import reconcile_issuers

register_projection(
    "issuers.registration",
    kinds=[("IssuerRegistry", "IssuerRegistered"), ("IssuerRegistry", "IssuerRevoked")],
    keys=projection.issuer_keys,
    project=projection.project_issuers,
)
register_rebuild_hook("issuers", projection.reset_chain_facts)
register_reconciler("issuers", reconcile_issuers)
