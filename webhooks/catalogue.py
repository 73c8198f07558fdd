"""The event types partners can subscribe to (shared/API.md "Webhooks"): one place, read by the API,
the admin, validation and the docs."""

from __future__ import annotations

EVENT_TYPES: dict[str, str] = {
    "company.kyb_approved": "A company passed KYB review.",
    "company.registered": "A company's on-chain registration confirmed.",
    "campaign.active": "A campaign's contract is live and taking investments.",
    "campaign.successful": "A campaign closed at or above its goal (certificates follow).",
    "campaign.failed": "A campaign closed below its goal (investments are refunded).",
    "company.updated": "A company's registration changed otherwise, e.g. revoked or undone by a reorg.",
    "campaign.cancelled": "A campaign was cancelled.",
    "campaign.updated": "A campaign's chain-backed state changed otherwise, e.g. a reorg undid a fact.",
    "investment.held": "An investment is held for compliance review.",
    "investment.confirmed": "An investment was recorded on chain.",
    "investment.rejected": "Compliance rejected an investment.",
    "investment.cancelled": "An investment was cancelled.",
    "investment.refunded": "An investment was refunded after a failed or cancelled campaign.",
    "investment.updated": "An investment's status changed otherwise, e.g. a reorg undid its recording.",
    "certificate.minted": "A share certificate was minted.",
    "certificate.transferred": "A share certificate changed owner.",
    "certificate.updated": "A certificate's chain state changed otherwise, e.g. a reorg undid its mint.",
    "credential.issued": "A credential's fingerprint was anchored on chain.",
    "credential.revoked": "A credential was revoked on chain.",
    "credential.updated": "A credential's chain state changed otherwise, e.g. a reorg undid its anchoring.",
    "loan.anchored": "A loan record's hash was anchored on chain.",
    "loan.repaid": "A loan's repayment was recorded on chain.",
    "loan.verification_failed": "A loan record no longer matches its anchored hash.",
    "loan.updated": "A loan's chain state changed otherwise, e.g. a reorg undid its anchoring.",
    "chain.transaction_failed": "A chain write failed (revert or permanent rejection).",
    "indexer.reorg": "The indexer saw a chain reorganisation and re-read the affected blocks.",
    "reconcile.drift": "Reconciliation found the cache and the chain disagreeing (and repaired it).",
}


def is_known(event_type: str) -> bool:
    return event_type in EVENT_TYPES
