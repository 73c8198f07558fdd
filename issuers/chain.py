"""Issuers on chain: the IssuerRegistry intent, the handlers of its events, reconciliation."""

from __future__ import annotations

from web3 import Web3

from blockchain.chain.abi import bytes32_from_hex
from blockchain.chain.bindings import call_many, deployment_of
from blockchain.indexing.registry import (
    Drift,
    ReconcileResult,
    register_reconciler,
)
from blockchain.models import ChainTransaction
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


@on_failure(REGISTER_KIND)
def register_issuer_failed(tx: ChainTransaction) -> None:
    from issuers import services

    if tx.object_id:
        services.registration_failed(company_id=tx.object_id, error_code=tx.error_code or "failed")


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


register_reconciler("issuers", reconcile_issuers)
