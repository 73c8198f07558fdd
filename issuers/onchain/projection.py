"""A company's on-chain registration, derived from the surviving IssuerRegistered / IssuerRevoked
events of its wallet (the last one decides). Written with `QuerySet.update()`: an observation never
reaches the post_save signal that enqueues `registerIssuer`."""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import timezone

from blockchain.models import ChainEvent
from issuers.announcements import COMPANIES
from issuers.models import Company, KybStatus, RegistrationStatus

logger = logging.getLogger(__name__)

R = RegistrationStatus
CHAIN_DECIDED = (R.REGISTERED, R.REVOKED)


def issuer_keys(event) -> list[str]:
    return [event.args["issuer"]]


def project_issuers(wallets: set[str]) -> None:
    companies = list(Company.objects.select_for_update().filter(wallet_address__in=wallets).order_by("pk"))
    if not companies:
        return
    last: dict[str, ChainEvent] = {}
    for event in ChainEvent.objects.filter(
        chain_id=settings.CHAIN_ID,
        removed=False,
        event_name__in=("IssuerRegistered", "IssuerRevoked"),
        args__issuer__in=[c.wallet_address for c in companies],
    ).order_by("block_number", "log_index"):
        last[event.args["issuer"]] = event
    for company in companies:
        event = last.get(company.wallet_address)
        values: dict = {}
        if event is None:
            if company.registration_status in CHAIN_DECIDED:
                values = {"registration_status": R.REGISTERING}  # its registerIssuer intent is re-broadcast
            values.update(registered_tx_hash="", registered_block=None, registered_at=None)
        elif event.event_name == "IssuerRevoked":
            values = {
                "registration_status": R.REVOKED,
                "last_chain_error": f"revoked on chain (tx {event.tx_hash})",
            }
        elif company.kyb_status != KybStatus.APPROVED:
            logger.error(
                "IssuerRegistered for %s whose KYB is %s", company.wallet_address, company.kyb_status
            )
            continue
        else:
            if event.args.get("vcHash") != company.kyb_credential_fingerprint:
                logger.warning(
                    "IssuerRegistered for %s with vcHash %s, approved %s",
                    company.wallet_address,
                    event.args.get("vcHash"),
                    company.kyb_credential_fingerprint,
                )
            values = {
                "registration_status": R.REGISTERED,
                "last_chain_error": "",
                "registered_tx_hash": event.tx_hash,
                "registered_block": event.block_number,
                "registered_at": event.mined_at(otherwise=company.registered_at or timezone.now()),
            }
        if all(getattr(company, field) == value for field, value in values.items()):
            continue
        Company.objects.filter(pk=company.pk).update(**values)
    COMPANIES.refresh(company.pk for company in companies)  # webhooks: what partners now read differently


def reset_chain_facts() -> None:
    """Before `rebuild_from_chain` replays the logs (times come back from the blocks)."""
    Company.objects.filter(registration_status__in=CHAIN_DECIDED).update(registration_status=R.REGISTERING)
    Company.objects.update(registered_tx_hash="", registered_block=None, registered_at=None)
