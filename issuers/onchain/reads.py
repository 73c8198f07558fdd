"""View-function reads of the IssuerRegistry for reconcile (`isRegisteredIssuer`)."""

from __future__ import annotations

from web3 import Web3

from blockchain.chain.bindings import call_many, deployment_of
from blockchain.indexing.registry import Drift, ReconcileResult
from blockchain.models import IN_FLIGHT_STATUSES, ChainTransaction
from issuers.onchain.intents import REGISTER_KIND

ARTIFACT = "IssuerRegistry"


def reconcile_issuers(w3: Web3) -> ReconcileResult:
    """Every approved company, whatever its registration status, against isRegisteredIssuer.

    `registering` is allowed to differ from the chain only while its registerIssuer intent is in
    flight (the receipt has not been applied yet); without one, the cache has missed a fact.
    """
    from issuers.models import Company, KybStatus, RegistrationStatus

    rows = list(
        Company.objects.filter(kyb_status=KybStatus.APPROVED).values_list(
            "pk", "wallet_address", "registration_status"
        )
    )
    result = ReconcileResult(checked=len(rows))
    if not rows:
        return result
    registry = deployment_of(ARTIFACT).address
    values, _block = call_many(
        [(ARTIFACT, registry, "isRegisteredIssuer", [w]) for _pk, w, _s in rows], w3=w3
    )
    in_flight = set(
        ChainTransaction.objects.filter(kind=REGISTER_KIND, status__in=IN_FLIGHT_STATUSES).values_list(
            "object_id", flat=True
        )
    )
    for (pk, wallet, status), on_chain in zip(rows, values, strict=True):
        if status == RegistrationStatus.REGISTERING and pk in in_flight:
            continue
        if (status == RegistrationStatus.REGISTERED) != bool(on_chain):
            result.drift.append(Drift("issuers", wallet, cache=status, chain=bool(on_chain)))
    return result
