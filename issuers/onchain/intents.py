"""What the issuers app asks of the IssuerRegistry: registerIssuer and its failure hook."""

from __future__ import annotations

from blockchain.chain.abi import bytes32_from_hex
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
