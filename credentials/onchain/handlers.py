"""Registration only: the events the credentials app projects and its rebuild reset."""

from __future__ import annotations

from blockchain.indexing.registry import register_projection, register_rebuild_hook, register_reconciler
from credentials.onchain import projection
from credentials.onchain.reads import reconcile_batches, reconcile_credentials, reconcile_institutions

ARTIFACT = "CredentialVault"

register_projection(
    "credentials.institution",
    kinds=[(ARTIFACT, "InstitutionUpserted")],
    keys=projection.institution_keys,
    project=projection.project_institutions,
)
register_projection(
    "credentials.credential",
    kinds=[
        (ARTIFACT, "CredentialIssued"),
        (ARTIFACT, "CredentialRevoked"),
        (ARTIFACT, "BatchAnchored"),
        (ARTIFACT, "BatchLeafRevoked"),
    ],
    keys=projection.credential_keys,
    project=projection.project_credentials,
)
register_rebuild_hook("credentials", projection.reset_chain_facts)
register_reconciler("credentials", reconcile_credentials)
register_reconciler("batches", reconcile_batches)
register_reconciler("institutions", reconcile_institutions)
