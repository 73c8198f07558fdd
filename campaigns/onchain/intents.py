"""What the campaigns app asks of the chain: one declaration per intent (the call, its attempt, its
failure hook, the balances it moves)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from blockchain.chain.abi import bytes32_from_hex
from blockchain.chain.amounts import to_base_units
from blockchain.models import ChainTransaction
from blockchain.outbox.declared import ChainIntent, register_intents
from blockchain.outbox.hooks import BalanceEffect

CREATE_KIND = "campaigns.create_campaign"
FINALIZE_KIND = "campaigns.finalize"
RECORD_KIND = "campaigns.record_investment"
MINT_KIND = "campaigns.mint_certificates"
CANCEL_KIND = "campaigns.cancel_investment"


@dataclass(frozen=True)
class MintBatch:
    """One mintBatch transaction's worth of a campaign's certificates (batch numbers count up)."""

    campaign: Any
    certificates: list
    number: int


def create_campaign_failed(tx: ChainTransaction) -> None:
    from campaigns import services

    if tx.object_id:
        services.deployment_failed(campaign_id=tx.object_id, error_code=tx.error_code or "failed")


def finalize_campaign_failed(tx: ChainTransaction) -> None:
    from campaigns import services

    if tx.object_id:
        services.finalize_failed(campaign_id=tx.object_id, error_code=tx.error_code or "failed")


def record_investment_failed(tx: ChainTransaction) -> None:
    from campaigns import services

    if tx.object_id:
        services.recording_failed(investment_id=tx.object_id, error_code=tx.error_code or "failed")


def cancel_investment_failed(tx: ChainTransaction) -> None:
    from campaigns import services

    if tx.object_id:
        services.cancellation_failed(investment_id=tx.object_id, error_code=tx.error_code or "failed")


def mint_failed(tx: ChainTransaction) -> None:
    from campaigns import services

    batch_number = int(tx.idempotency_key.rsplit(":", 1)[1])
    services.minting_failed(
        campaign_id=tx.object_id,
        batch_number=batch_number,
        error_code=tx.error_code or "failed",
        error=tx.error,
    )


def certificates_to_owners(tx: ChainTransaction) -> list[BalanceEffect]:
    """A mint batch gives each owner one certificate (the wallets app counts them as a balance)."""
    return [BalanceEffect(holder=owner, token=tx.contract_address, delta=1) for owner in tx.args[1]]


CREATE_CAMPAIGN = ChainIntent(
    kind=CREATE_KIND,
    contract="CampaignFactory",
    function="createCampaign",  # createCampaign(campaignRef, issuer, goal, hardCap, deadline)
    args=lambda campaign: [
        bytes32_from_hex(campaign.campaign_ref),
        campaign.issuer.wallet_address,
        to_base_units(campaign.goal),
        to_base_units(campaign.hard_cap),
        int(campaign.ends_at.timestamp()),
    ],
    attempt=lambda campaign: campaign.deploy_attempt,
    on_failure=create_campaign_failed,
)

FINALIZE = ChainIntent(
    kind=FINALIZE_KIND,
    contract="Campaign",
    function="finalize",
    args=lambda campaign: [],
    attempt=lambda campaign: campaign.finalize_attempt,
    address=lambda campaign: campaign.contract_address,
    on_failure=finalize_campaign_failed,
)

RECORD_INVESTMENT = ChainIntent(
    kind=RECORD_KIND,
    contract="Campaign",
    function="recordInvestment",  # recordInvestment(investor, amount, ref) on the campaign's clone
    args=lambda investment: [
        investment.investor_wallet,
        to_base_units(investment.amount),
        bytes32_from_hex(investment.investment_ref),
    ],
    attempt=lambda investment: investment.record_attempt,
    address=lambda investment: investment.campaign.contract_address,
    on_failure=record_investment_failed,
    ordering=lambda investment: investment.campaign,  # one lane per campaign: create → record → finalize
)

CANCEL_INVESTMENT = ChainIntent(
    kind=CANCEL_KIND,
    contract="Campaign",
    function="cancelInvestment",
    args=lambda investment: [bytes32_from_hex(investment.investment_ref)],
    attempt=lambda investment: investment.cancel_attempt,
    address=lambda investment: investment.campaign.contract_address,
    on_failure=cancel_investment_failed,
    ordering=lambda investment: investment.campaign,
)

MINT_CERTIFICATES = ChainIntent(
    kind=MINT_KIND,
    contract="ShareCertificate",
    function="mintBatch",  # mintBatch(refs, owners, campaign, shares, uris)
    args=lambda batch: [
        [bytes32_from_hex(c.certificate_ref) for c in batch.certificates],
        [c.investment.investor_wallet for c in batch.certificates],
        batch.campaign.contract_address,
        [c.shares for c in batch.certificates],
        [c.uri for c in batch.certificates],
    ],
    attempt=lambda batch: batch.number,
    row=lambda batch: batch.campaign,
    ordering=lambda batch: batch.campaign,
    on_failure=mint_failed,
    balance_effects=certificates_to_owners,
)

INTENTS = register_intents(CREATE_CAMPAIGN, FINALIZE, RECORD_INVESTMENT, CANCEL_INVESTMENT, MINT_CERTIFICATES)
