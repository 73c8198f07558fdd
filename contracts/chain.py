"""Chain structure: the Campaign clones our factory creates become watched addresses (a projection of
the surviving CampaignCreated events, so a creation a reorg orphaned stops being watched)."""

from __future__ import annotations

from django.conf import settings

from blockchain.indexing.registry import register_projection
from blockchain.models import ChainEvent, WatchedContract


def project_watched_campaigns(addresses: set[str]) -> None:
    """Watch each clone from the block of its surviving creation; stop watching one whose creation no
    longer survives (never a deployment of ours, which `deploy_contracts` manages)."""
    created = {
        e.args["campaignAddress"]: e
        for e in ChainEvent.objects.filter(
            chain_id=settings.CHAIN_ID,
            removed=False,
            event_name="CampaignCreated",
            args__campaignAddress__in=list(addresses),
        ).order_by("block_number", "log_index")
    }
    for address in sorted(addresses):
        event = created.get(address)
        if event is None:
            WatchedContract.objects.filter(
                chain_id=settings.CHAIN_ID, address=address, deployment__isnull=True, active=True
            ).update(active=False)
            continue
        WatchedContract.objects.get_or_create(
            chain_id=settings.CHAIN_ID,
            address=address,
            active=True,
            defaults={
                "artifact": "Campaign",
                "start_block": event.block_number,
                "discovered_by_tx": event.tx_hash,
            },
        )


register_projection(
    "contracts.watched_campaigns",
    kinds=[("CampaignFactory", "CampaignCreated")],
    keys=lambda event: [event.args["campaignAddress"]],
    project=project_watched_campaigns,
    structural=True,
)
