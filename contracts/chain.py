"""Chain-structure event handlers: contracts our suite creates become watched addresses."""

from __future__ import annotations

from blockchain.indexing.registry import DecodedEvent, on_event, on_removed
from blockchain.models import ChainEvent, WatchedContract


@on_event("CampaignFactory", "CampaignCreated")
def watch_created_campaign(event: DecodedEvent) -> None:
    """Every Campaign clone is indexed from the block that created it (idempotent)."""
    WatchedContract.objects.get_or_create(
        chain_id=event.chain_id,
        address=event.args["campaignAddress"],
        active=True,
        defaults={
            "artifact": "Campaign",
            "start_block": event.block_number,
            "discovered_by_tx": event.tx_hash,
        },
    )


@on_removed("CampaignFactory", "CampaignCreated")
def unwatch_orphaned_campaigns(events: list[DecodedEvent]) -> None:
    """A reorg took the creation away: stop watching the clone unless a surviving event created it."""
    for event in events:
        address = event.args["campaignAddress"]
        still_created = ChainEvent.objects.filter(
            chain_id=event.chain_id,
            event_name="CampaignCreated",
            removed=False,
            args__campaignAddress=address,
        ).exists()
        if not still_created:
            WatchedContract.objects.filter(
                chain_id=event.chain_id, address=address, deployment__isnull=True, active=True
            ).update(active=False)
