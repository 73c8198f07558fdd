"""Every event of our contracts that carries a platform fact has a projection, so a reorg, a rebuild
and `reconcile --fix` derive it like a receipt does (the registry has no other way to handle one)."""

from __future__ import annotations

from blockchain.chain.abi import load_artifact
from blockchain.indexing import registry
from contracts.deployment import SUITE_NAMES

# Events that carry no platform fact: access control, upgrade plumbing, ERC-721 approvals and
# metadata refresh hints. Anything else a contract emits must be projected.
NOT_PLATFORM_FACTS = {
    "RoleAdminChanged",
    "RoleGranted",
    "RoleRevoked",
    "Initialized",
    "Approval",
    "ApprovalForAll",
    "MetadataUpdate",
    "BatchMetadataUpdate",
    "MetadataBaseChanged",  # where token URIs point: the contract answers tokenURI itself
}


def events_of(artifact: str) -> set[tuple[str, str]]:
    return {(artifact, item["name"]) for item in load_artifact(artifact).abi if item["type"] == "event"}


def test_every_platform_event_of_the_suite_has_a_projection():
    emitted = set().union(*(events_of(name) for name in (*SUITE_NAMES, "Campaign")))
    facts = {kind for kind in emitted if kind[1] not in NOT_PLATFORM_FACTS}
    assert len(facts) == 15
    missing = facts - registry.projected_kinds()
    assert not missing, f"events without a projection: {sorted(missing)}"


def test_the_tracked_erc20_transfers_are_projected_into_balances():
    assert ("IERC20Metadata", "Transfer") in registry.projected_kinds()
