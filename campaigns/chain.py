"""Campaigns on chain: the factory and Campaign intents, their events, reconciliation."""

from __future__ import annotations

from django.conf import settings
from web3 import Web3

from blockchain.chain.abi import bytes32_from_hex
from blockchain.chain.amounts import from_base_units, to_base_units
from blockchain.chain.bindings import call_many
from blockchain.indexing.registry import (
    DecodedEvent,
    Drift,
    ReconcileResult,
    on_event,
    on_removed,
    register_rebuild_hook,
    register_reconciler,
)
from blockchain.models import ChainEvent, ChainTransaction
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


@on_event("ShareCertificate", "CertificateMinted", batch="all")
def certificates_minted(events: list[DecodedEvent]) -> None:
    """One query for the whole run of events; mints the platform did not ask for are skipped."""
    from campaigns import services
    from campaigns.models import ShareCertificate

    known = set(
        ShareCertificate.objects.filter(
            certificate_ref__in=[e.args["certificateRef"] for e in events]
        ).values_list("certificate_ref", flat=True)
    )
    for event in events:
        if event.args["certificateRef"] in known:
            services.record_certificate_minted(
                certificate_ref=event.args["certificateRef"],
                token_id=int(event.args["tokenId"]),
                owner=event.args["owner"],
                tx_hash=event.tx_hash,
                position=_position(event),
            )


@on_event("ShareCertificate", "Transfer", batch="all")
def certificates_transferred(events: list[DecodedEvent]) -> None:
    from campaigns import services
    from campaigns.models import ShareCertificate

    known = set(
        ShareCertificate.objects.filter(token_id__in=[int(e.args["tokenId"]) for e in events]).values_list(
            "token_id", flat=True
        )
    )
    for event in events:
        if int(event.args["tokenId"]) in known:
            services.record_certificate_transfer(
                token_id=int(event.args["tokenId"]), to=event.args["to"], position=_position(event)
            )


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


@on_event("Campaign", "InvestmentRecorded")
def investment_recorded(event: DecodedEvent) -> None:
    from campaigns import services

    services.record_investment_confirmed(
        investment_ref=event.args["investmentRef"], address=event.address, tx_hash=event.tx_hash
    )


@on_event("Campaign", "InvestmentCancelled")
def investment_cancelled(event: DecodedEvent) -> None:
    from campaigns import services

    services.record_investment_cancelled(investment_ref=event.args["investmentRef"], tx_hash=event.tx_hash)


@on_removed("Campaign", "InvestmentRecorded")
def investment_record_orphaned(events: list[DecodedEvent]) -> None:
    from campaigns import services

    for event in events:
        if not _survives(event, investmentRef=event.args["investmentRef"]):
            services.forget_investment_recorded(
                investment_ref=event.args["investmentRef"], tx_hash=event.tx_hash
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


@on_event("CampaignFactory", "CampaignCreated")
def campaign_created(event: DecodedEvent) -> None:
    from campaigns import services

    services.record_campaign_created(
        campaign_ref=event.args["campaignRef"], address=event.args["campaignAddress"], tx_hash=event.tx_hash
    )


def _position(event: DecodedEvent) -> int:
    return event.block_number * 1_000_000 + event.log_index


@on_event("Campaign", "InvestmentRecorded")
@on_event("Campaign", "InvestmentCancelled")
def campaign_total_changed(event: DecodedEvent) -> None:
    from campaigns import services

    services.record_raised(
        address=event.address, raised_units=int(event.args["raised"]), position=_position(event)
    )


@on_event("Campaign", "CampaignFinalized")
def campaign_finalized(event: DecodedEvent) -> None:
    from campaigns import services

    services.record_campaign_finalized(
        address=event.address,
        successful=bool(event.args["successful"]),
        raised_units=int(event.args["raised"]),
        tx_hash=event.tx_hash,
    )


def _survives(event: DecodedEvent, **args) -> bool:
    filters = {f"args__{k}": v for k, v in args.items()}
    return ChainEvent.objects.filter(
        chain_id=settings.CHAIN_ID, event_name=event.name, removed=False, **filters
    ).exists()


@on_removed("CampaignFactory", "CampaignCreated")
def campaign_creation_orphaned(events: list[DecodedEvent]) -> None:
    from campaigns import services

    for event in events:
        if not _survives(event, campaignAddress=event.args["campaignAddress"]):
            services.forget_campaign_created(address=event.args["campaignAddress"], tx_hash=event.tx_hash)


@on_removed("Campaign", "CampaignFinalized")
def campaign_finalization_orphaned(events: list[DecodedEvent]) -> None:
    from campaigns import services

    for event in events:
        survived = ChainEvent.objects.filter(
            chain_id=settings.CHAIN_ID, contract_address=event.address, event_name=event.name, removed=False
        ).exists()
        if not survived:
            services.forget_campaign_finalized(address=event.address, tx_hash=event.tx_hash)


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


def forget_chain_facts() -> None:
    """Before `rebuild_from_chain` replays the logs."""
    from campaigns.models import Campaign, CampaignStatus

    Campaign.objects.filter(
        status__in=[CampaignStatus.ACTIVE, CampaignStatus.SUCCESSFUL, CampaignStatus.FAILED]
    ).update(status=CampaignStatus.DEPLOYING)
    Campaign.objects.update(
        contract_address="",
        created_tx_hash="",
        finalized_tx_hash="",
        closed_at=None,
        raised=0,
        raised_position=0,
    )


def reconcile_campaigns(w3: Web3) -> ReconcileResult:
    """Every deployed campaign's status and total against its contract's views."""
    from campaigns.models import Campaign, CampaignStatus

    rows = list(
        Campaign.objects.exclude(contract_address="").values_list(
            "pk", "contract_address", "status", "raised"
        )
    )
    result = ReconcileResult(checked=len(rows))
    if not rows:
        return result
    calls = []
    for _pk, address, _status, _raised in rows:
        calls += [
            ("Campaign", address, "finalized", []),
            ("Campaign", address, "successful", []),
            ("Campaign", address, "raised", []),
        ]
    values, _block = call_many(calls, w3=w3)
    for i, (pk, _address, status, raised) in enumerate(rows):
        finalized, successful, raised_units = values[3 * i : 3 * i + 3]
        expected = {
            CampaignStatus.SUCCESSFUL: (True, True),
            CampaignStatus.FAILED: (True, False),
            CampaignStatus.ACTIVE: (False, False),
        }.get(status)
        if expected is not None and (bool(finalized), bool(successful)) != expected:
            result.drift.append(
                Drift(
                    "campaigns",
                    f"{pk}:status",
                    cache=status,
                    chain={"finalized": finalized, "successful": successful},
                )
            )
        if from_base_units(raised_units) != raised:
            result.drift.append(
                Drift(
                    "campaigns", f"{pk}:raised", cache=str(raised), chain=str(from_base_units(raised_units))
                )
            )
    return result


register_rebuild_hook("campaigns", forget_chain_facts)
register_reconciler("campaigns", reconcile_campaigns)
