"""Where a company's KYB evidence comes from: a KYB credential (the credentials app plugs in here),
or else the fingerprint of the KYB record compliance approved."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from eth_utils import keccak

from core.canonical_json import canonical_json

if TYPE_CHECKING:
    from issuers.models import Company

KYB_RECORD_SCHEME = "ledgerbridge.kyb-record.v1"


class KybCredential(NamedTuple):
    credential_id: str
    fingerprint: str  # 0x-hex bytes32


KybResolver = Callable[["Company"], KybCredential | None]
_resolvers: list[KybResolver] = []


def register_kyb_resolver(resolver: KybResolver) -> None:
    """The credentials app registers how to find a company's valid KYB credential."""
    if resolver not in _resolvers:
        _resolvers.append(resolver)


def kyb_credential_for(company: Company) -> KybCredential | None:
    for resolver in _resolvers:
        found = resolver(company)
        if found is not None:
            return found
    return None


def kyb_record_fingerprint(company: Company) -> str:
    """keccak256 of the RFC 8785 JSON of the approved KYB record (used when no credential exists)."""
    document = {
        "scheme": KYB_RECORD_SCHEME,
        "legal_name": company.legal_name,
        "registration_number": company.registration_number,
        "country": company.country,
        "wallet_address": company.wallet_address,
        "document_cid": company.document_cid,
    }
    return "0x" + keccak(canonical_json(document)).hex()
