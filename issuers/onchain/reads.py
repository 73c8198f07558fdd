"""View-function reads of the IssuerRegistry for reconcile (`isRegisteredIssuer`)."""

from __future__ import annotations

from web3 import Web3

from blockchain.chain.bindings import call_many, deployment_of
from blockchain.indexing.registry import Drift, ReconcileResult

ARTIFACT = "IssuerRegistry"


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
