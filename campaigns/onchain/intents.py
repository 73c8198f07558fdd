"""What the campaigns app asks of the chain: one declaration per intent (the call, its idempotency
key, its failure hook, the balances it moves)."""

from __future__ import annotations

from blockchain.chain.abi import bytes32_from_hex
from blockchain.chain.amounts import to_base_units
from blockchain.models import ChainTransaction
from blockchain.outbox import enqueue as outbox
from blockchain.outbox.enqueue import intent_key
from blockchain.outbox.hooks import BalanceEffect, declare_balance_effects, on_failure

CREATE_KIND = "campaigns.create_campaign"
FINALIZE_KIND = "campaigns.finalize"
RECORD_KIND = "campaigns.record_investment"
MINT_KIND = "campaigns.mint_certificates"
CANCEL_KIND = "campaigns.cancel_investment"


def enqueue_create_campaign(campaign) -> ChainTransaction:
    """createCampaign(campaignRef, issuer, goal, hardCap, deadline) for this deployment attempt."""
    return outbox.enqueue(
        kind=CREATE_KIND,
        contract="CampaignFactory",
        function="createCampaign",
        args=[
            bytes32_from_hex(campaign.campaign_ref),
            campaign.issuer.wallet_address,
            to_base_units(campaign.goal),
            to_base_units(campaign.hard_cap),
            int(campaign.ends_at.timestamp()),
        ],
        idempotency_key=intent_key(CREATE_KIND, campaign, campaign.deploy_attempt),
        subject=campaign,
    )


def enqueue_finalize(campaign) -> ChainTransaction:
    return outbox.enqueue(
        kind=FINALIZE_KIND,
        contract="Campaign",
        function="finalize",
        args=[],
        address=campaign.contract_address,
        idempotency_key=intent_key(FINALIZE_KIND, campaign, campaign.finalize_attempt),
        subject=campaign,
    )


def enqueue_record_investment(investment) -> ChainTransaction:
    """recordInvestment(investor, amount, ref) on the campaign's contract."""
    return outbox.enqueue(
        kind=RECORD_KIND,
        contract="Campaign",
        function="recordInvestment",
        args=[
            investment.investor_wallet,
            to_base_units(investment.amount),
            bytes32_from_hex(investment.investment_ref),
        ],
        address=investment.campaign.contract_address,
        idempotency_key=intent_key(RECORD_KIND, investment, investment.record_attempt),
        subject=investment,
    )


def enqueue_mint_batch(campaign, certificates, *, batch_number: int) -> ChainTransaction:
    """mintBatch(refs, owners, campaign, shares, uris) for one chunk of a campaign's certificates."""
    return outbox.enqueue(
        kind=MINT_KIND,
        contract="ShareCertificate",
        function="mintBatch",
        args=[
            [bytes32_from_hex(c.certificate_ref) for c in certificates],
            [c.investment.investor_wallet for c in certificates],
            campaign.contract_address,
            [c.shares for c in certificates],
            [c.uri for c in certificates],
        ],
        idempotency_key=intent_key(MINT_KIND, campaign, batch_number),
        subject=campaign,
    )


def certificates_to_owners(tx: ChainTransaction) -> list[BalanceEffect]:
    """A mint batch gives each owner one certificate (the wallets app counts them as a balance)."""
    return [BalanceEffect(holder=owner, token=tx.contract_address, delta=1) for owner in tx.args[1]]


declare_balance_effects(MINT_KIND, certificates_to_owners)


@on_failure(MINT_KIND)
def mint_failed(tx: ChainTransaction) -> None:
    from campaigns import services

    batch_number = int(tx.idempotency_key.rsplit(":", 1)[1])
    services.minting_failed(
        campaign_id=tx.object_id, batch_number=batch_number, error_code=tx.error_code or "failed"
    )


def enqueue_cancel_investment(investment) -> ChainTransaction:
    return outbox.enqueue(
        kind=CANCEL_KIND,
        contract="Campaign",
        function="cancelInvestment",
        args=[bytes32_from_hex(investment.investment_ref)],
        address=investment.campaign.contract_address,
        idempotency_key=intent_key(CANCEL_KIND, investment, investment.cancel_attempt),
        subject=investment,
    )


@on_failure(RECORD_KIND)
def record_investment_failed(tx: ChainTransaction) -> None:
    from campaigns import services

    if tx.object_id:
        services.recording_failed(investment_id=tx.object_id, error_code=tx.error_code or "failed")


@on_failure(CANCEL_KIND)
def cancel_investment_failed(tx: ChainTransaction) -> None:
    from campaigns import services

    if tx.object_id:
        services.cancellation_failed(investment_id=tx.object_id, error_code=tx.error_code or "failed")


@on_failure(CREATE_KIND)
def create_campaign_failed(tx: ChainTransaction) -> None:
    from campaigns import services

    if tx.object_id:
        services.deployment_failed(campaign_id=tx.object_id, error_code=tx.error_code or "failed")


@on_failure(FINALIZE_KIND)
def finalize_campaign_failed(tx: ChainTransaction) -> None:
    from campaigns import services

    if tx.object_id:
        services.finalize_failed(campaign_id=tx.object_id, error_code=tx.error_code or "failed")
