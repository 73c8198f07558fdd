"""Registration only: which events the campaigns app projects, its rebuild reset and reconciler.

Order matters: investments are projected before campaigns, so a campaign that succeeds in the same
batch of events finds its investments confirmed when it issues their certificates.
"""

from __future__ import annotations

from blockchain.indexing.registry import register_projection, register_rebuild_hook, register_reconciler
from campaigns.onchain import projection
from campaigns.onchain.reads import reconcile_campaigns, reconcile_certificates, reconcile_investments

register_projection(
    "campaigns.investment",
    kinds=[("Campaign", "InvestmentRecorded"), ("Campaign", "InvestmentCancelled")],
    keys=projection.investment_keys,
    project=projection.project_investments,
)
register_projection(
    "campaigns.campaign",
    kinds=[
        ("CampaignFactory", "CampaignCreated"),
        ("Campaign", "InvestmentRecorded"),
        ("Campaign", "InvestmentCancelled"),
        ("Campaign", "CampaignFinalized"),
    ],
    keys=projection.campaign_keys,
    project=projection.project_campaigns,
)
register_projection(
    "campaigns.certificate",
    kinds=[("ShareCertificate", "CertificateMinted"), ("ShareCertificate", "Transfer")],
    keys=projection.certificate_keys,
    project=projection.project_certificates,
)
register_rebuild_hook("campaigns", projection.reset_chain_facts, after=projection.settle_after_rebuild)
register_reconciler("campaigns", reconcile_campaigns)
register_reconciler("investments", reconcile_investments)
register_reconciler("certificates", reconcile_certificates)
