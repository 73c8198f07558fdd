"""Issuers on chain: the IssuerRegistry intent, the handlers of its events, reconciliation."""

from __future__ import annotations

from django.conf import settings
from web3 import Web3

from blockchain.chain.abi import bytes32_from_hex
from blockchain.chain.bindings import call_many, deployment_of
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
from blockchain.outbox.hooks import on_failure

REGISTER_KIND = "issuers.register_issuer"
ARTIFACT = "IssuerRegistry"


def enqueue_register_issuer(company) -> ChainTransaction:
    """registerIssuer(wallet, vcHash, ipfsHash) for this registration attempt."""
    return outbox.enqueue(
        kind=REGISTER_KIND,
        contract=ARTIFACT,
        function="registerIssuer",
        args=[
            company.wallet_address,
            bytes32_from_hex(company.kyb_credential_fingerprint),
            company.document_cid,
        ],
        idempotency_key=intent_key(REGISTER_KIND, company, company.register_attempt),
        subject=company,
    )


@on_event(ARTIFACT, "IssuerRegistered")
def issuer_registered(event: DecodedEvent) -> None:
    from issuers import services

    services.record_issuer_registered(
        wallet=event.args["issuer"],
        vc_hash=event.args["vcHash"],
        tx_hash=event.tx_hash,
        block_number=event.block_number,
    )


@on_event(ARTIFACT, "IssuerRevoked")
def issuer_revoked(event: DecodedEvent) -> None:
    from issuers import services

    services.record_issuer_revoked(wallet=event.args["issuer"], tx_hash=event.tx_hash)


@on_removed(ARTIFACT, "IssuerRegistered")
def issuer_registration_orphaned(events: list[DecodedEvent]) -> None:
    from issuers import services

    for event in events:
        survived = ChainEvent.objects.filter(
            chain_id=settings.CHAIN_ID,
            event_name="IssuerRegistered",
            removed=False,
            args__issuer=event.args["issuer"],
        ).exists()
        if not survived:
            services.forget_issuer_registered(wallet=event.args["issuer"], tx_hash=event.tx_hash)


@on_failure(REGISTER_KIND)
def register_issuer_failed(tx: ChainTransaction) -> None:
    from issuers import services

    if tx.object_id:
        services.registration_failed(company_id=tx.object_id, error_code=tx.error_code or "failed")


def forget_registrations() -> None:
    """Before `rebuild_from_chain` replays the logs."""
    from issuers.models import Company, RegistrationStatus

    Company.objects.filter(
        registration_status__in=[RegistrationStatus.REGISTERED, RegistrationStatus.REVOKED]
    ).update(registration_status=RegistrationStatus.REGISTERING)
    Company.objects.update(registered_tx_hash="", registered_block=None, registered_at=None)


def reconcile_issuers(w3: Web3) -> ReconcileResult:
    """Every company the cache calls registered (or not) against isRegisteredIssuer."""
    from issuers.models import Company, KybStatus, RegistrationStatus

    rows = list(
        Company.objects.filter(kyb_status=KybStatus.APPROVED)
        .exclude(registration_status=RegistrationStatus.REGISTERING)
        .values_list("wallet_address", "registration_status")
    )
    result = ReconcileResult(checked=len(rows))
    if not rows:
        return result
    registry = deployment_of(ARTIFACT).address
    values, _block = call_many([(ARTIFACT, registry, "isRegisteredIssuer", [w]) for w, _s in rows], w3=w3)
    for (wallet, status), on_chain in zip(rows, values, strict=True):
        if (status == RegistrationStatus.REGISTERED) != bool(on_chain):
            result.drift.append(Drift("issuers", wallet, cache=status, chain=bool(on_chain)))
    return result


register_rebuild_hook("issuers", forget_registrations)
register_reconciler("issuers", reconcile_issuers)
