"""Registration only: the events the issuers app projects and its rebuild reset."""

from __future__ import annotations

from blockchain.indexing.registry import register_projection, register_rebuild_hook
from issuers.onchain import projection

register_projection(
    "issuers.registration",
    kinds=[("IssuerRegistry", "IssuerRegistered"), ("IssuerRegistry", "IssuerRevoked")],
    keys=projection.issuer_keys,
    project=projection.project_issuers,
)
register_rebuild_hook("issuers", projection.reset_chain_facts)
