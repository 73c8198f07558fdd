"""What the issuers app asks of the IssuerRegistry: registerIssuer, declared once."""

from __future__ import annotations

from blockchain.chain.abi import bytes32_from_hex
from blockchain.models import ChainTransaction
from blockchain.outbox.declared import ChainIntent, register_intents

REGISTER_KIND = "issuers.register_issuer"
ARTIFACT = "IssuerRegistry"


def register_issuer_failed(tx: ChainTransaction) -> None:
    from issuers import services

    if tx.object_id:
        services.registration_failed(company_id=tx.object_id, error_code=tx.error_code or "failed")


REGISTER_ISSUER = ChainIntent(
    kind=REGISTER_KIND,
    contract=ARTIFACT,
    function="registerIssuer",  # registerIssuer(wallet, vcHash, ipfsHash)
    args=lambda company: [
        company.wallet_address,
        bytes32_from_hex(company.kyb_credential_fingerprint),
        company.document_cid,
    ],
    attempt=lambda company: company.register_attempt,
    on_failure=register_issuer_failed,
)

INTENTS = register_intents(REGISTER_ISSUER)
