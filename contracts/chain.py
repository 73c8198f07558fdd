"""Chain-structure event handlers: contracts our suite creates become watched addresses."""

from __future__ import annotations

from blockchain.models import WatchedContract
from blockchain.registry import DecodedEvent, on_event


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
