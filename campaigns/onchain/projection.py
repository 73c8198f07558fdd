"""Campaigns, investments and share certificates: their chain facts, derived from the surviving events.

Each function recomputes the named entities from the `ChainEvent` rows that are not removed, in
(block, log index) order, together with what the platform still has in flight (an intent that has
not landed leaves the entity in its in-flight status). The same functions serve a receipt, an
indexer range, a reorg rewind and a rebuild, so an orphaned fact takes its consequences with it.

Rows are written with `QuerySet.update()`, leaving `updated_at` (the platform's last edit) alone:
a projection is an observation, and observations never reach the post_save signals that turn a
declared intent into an outbox row.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from blockchain.chain.amounts import from_base_units
from blockchain.models import ChainEvent
from campaigns.announcements import CAMPAIGNS, CERTIFICATES, INVESTMENTS
from campaigns.models import (
    Campaign,
    CampaignStatus,
    CertificateStatus,
    Investment,
    InvestmentStatus,
    ShareCertificate,
)
from campaigns.services import issue_certificates, refresh_campaign_totals

logger = logging.getLogger(__name__)

S = CampaignStatus
I = InvestmentStatus  # noqa: E741 - the investment statuses, as S is the campaign's

CAMPAIGN_EVENTS = ("InvestmentRecorded", "InvestmentCancelled", "CampaignFinalized")
# Statuses the chain decides once the campaign's contract exists (the others are the platform's).
CHAIN_DECIDED = (S.ACTIVE, S.SUCCESSFUL, S.FAILED)
REFUNDED_WHEN = (S.FAILED, S.CANCELLED)


def _surviving(**filters) -> Iterable[ChainEvent]:
    return (
        ChainEvent.objects.filter(chain_id=settings.CHAIN_ID, removed=False, **filters)
        .order_by("block_number", "log_index")
        .only("contract_address", "event_name", "args", "tx_hash", "block_number", "log_index")
    )


# --- campaigns ---------------------------------------------------------------------------------------


def project_campaigns(addresses: set[str], *, refs: Iterable[str] = ()) -> list[int]:
    """Contract address, status (active / successful / failed), `raised` and the finalization of the
    campaigns at `addresses` (and those with these `refs`, seen on chain or not), then the
    consequences: their investments when the outcome changed, certificates for a success. Returns
    the campaigns whose status changed."""
    refs = set(refs) | set(
        ChainEvent.objects.filter(
            chain_id=settings.CHAIN_ID,
            event_name="CampaignCreated",
            args__campaignAddress__in=list(addresses),
        ).values_list("args__campaignRef", flat=True)
    )
    rows = list(
        Campaign.objects.select_for_update()
        .filter(Q(contract_address__anyof=addresses) | Q(campaign_ref__anyof=refs))
        .order_by("pk")
    )
    if not rows:
        return []
    created = {
        e.args["campaignRef"]: e
        for e in _surviving(
            event_name="CampaignCreated", args__campaignRef__in=[r.campaign_ref for r in rows]
        )
    }
    live_addresses = {e.args["campaignAddress"] for e in created.values()}
    by_address: dict[str, list[ChainEvent]] = defaultdict(list)
    for event in _surviving(contract_address__in=live_addresses, event_name__in=CAMPAIGN_EVENTS):
        by_address[event.contract_address].append(event)

    changed_outcome: list[int] = []
    successes: list[Campaign] = []
    for row in rows:
        before = _campaign_facts(row)
        creation = created.get(row.campaign_ref)
        if creation is None:
            row.contract_address, row.created_tx_hash = "", ""
            if row.status in CHAIN_DECIDED:
                row.status = S.DEPLOYING  # its createCampaign intent is re-broadcast by the confirmer
            events: list[ChainEvent] = []
        else:
            row.contract_address = creation.args["campaignAddress"]
            row.created_tx_hash = creation.tx_hash
            if row.status in (S.APPROVED, S.DEPLOYING):
                row.status = S.ACTIVE
                row.last_chain_error = ""
            row.activated_at = creation.mined_at(otherwise=row.activated_at or timezone.now())
            events = by_address.get(row.contract_address, [])
        row.raised = from_base_units(int(events[-1].args["raised"])) if events else from_base_units(0)
        finalized = next((e for e in reversed(events) if e.event_name == "CampaignFinalized"), None)
        if finalized is not None:
            row.finalized_tx_hash = finalized.tx_hash
            row.closed_at = finalized.mined_at(otherwise=row.closed_at or timezone.now())
            if row.status in CHAIN_DECIDED:
                row.status = S.SUCCESSFUL if finalized.args["successful"] else S.FAILED
        else:
            row.finalized_tx_hash = ""
            if row.status in (S.SUCCESSFUL, S.FAILED):
                row.status = S.ACTIVE
                row.closed_at = None
        if _campaign_facts(row) == before:
            continue
        Campaign.objects.filter(pk=row.pk).update(
            status=row.status,
            contract_address=row.contract_address,
            created_tx_hash=row.created_tx_hash,
            finalized_tx_hash=row.finalized_tx_hash,
            raised=row.raised,
            closed_at=row.closed_at,
            activated_at=row.activated_at,
            last_chain_error=row.last_chain_error,
        )
        if before[0] != row.status:
            changed_outcome.append(row.pk)
            if row.status == S.SUCCESSFUL:
                successes.append(row)
    CAMPAIGNS.refresh(row.pk for row in rows)  # webhooks: what partners now read differently
    if changed_outcome:
        project_investments_of(campaign_ids=changed_outcome)
    for campaign in successes:
        issue_certificates(campaign)  # a service: it enqueues the mint intents for the certificates
    return changed_outcome


def _campaign_facts(row: Campaign) -> tuple:
    return (
        row.status,
        row.contract_address,
        row.created_tx_hash,
        row.finalized_tx_hash,
        row.raised,
        row.activated_at,
        row.closed_at,
    )


def campaign_keys(event) -> list[str]:
    if event.name == "CampaignCreated":
        return [event.args["campaignAddress"]]
    return [event.address]


# --- investments -------------------------------------------------------------------------------------


def project_investments_of(*, campaign_ids: list[int]) -> None:
    refs = set(
        Investment.objects.filter(campaign_id__in=campaign_ids).values_list("investment_ref", flat=True)
    )
    if refs:
        project_investments(refs)


def _never_asked_of_the_chain(row: Investment) -> bool:
    """Pending, held, rejected, or cancelled while held: no recordInvestment was ever declared, so no
    chain event can say anything about it."""
    return row.status in (I.PENDING, I.HELD_FOR_REVIEW, I.REJECTED) or (
        row.status == I.CANCELLED and row.record_attempt == 0
    )


def project_investments(refs: set[str]) -> None:
    """Recorded, cancelled, refunded (its campaign failed or was cancelled) or back in flight, from the
    surviving InvestmentRecorded / InvestmentCancelled events of each investment."""
    rows = list(
        Investment.objects.select_for_update(of=("self",))
        .filter(investment_ref__anyof=refs)
        .select_related("campaign")
        .order_by("pk")
    )
    if not rows:
        return
    recorded: dict[str, ChainEvent] = {}
    cancelled: dict[str, ChainEvent] = {}
    for event in _surviving(
        event_name__in=("InvestmentRecorded", "InvestmentCancelled"),
        args__investmentRef__in=[r.investment_ref for r in rows],
    ):
        target = recorded if event.event_name == "InvestmentRecorded" else cancelled
        target[event.args["investmentRef"]] = event
    now = timezone.now()
    touched_campaigns: set[int] = set()
    for row in rows:
        if _never_asked_of_the_chain(row):
            continue
        before = (row.status, row.recorded_tx_hash, row.cancelled_tx_hash, row.confirmed_at, row.cancelled_at)
        record, cancel = recorded.get(row.investment_ref), cancelled.get(row.investment_ref)
        campaign_over = row.campaign.status in REFUNDED_WHEN
        if record is not None:
            row.recorded_tx_hash = record.tx_hash
            row.confirmed_at = record.mined_at(otherwise=row.confirmed_at or now)
            if cancel is not None:
                row.status, row.cancelled_tx_hash = I.CANCELLED, cancel.tx_hash
                row.cancelled_at = cancel.mined_at(otherwise=row.cancelled_at or now)
            else:
                row.cancelled_tx_hash, row.cancelled_at = "", None
                row.status = I.REFUNDED if campaign_over else I.CONFIRMED
            if row.status != I.FAILED:
                row.last_chain_error = ""
        else:
            row.recorded_tx_hash, row.confirmed_at = "", None
            row.cancelled_tx_hash, row.cancelled_at = "", None
            if row.status in (I.CONFIRMED, I.CANCELLED, I.REFUNDED):
                row.status = I.RECORDING  # its recordInvestment intent is re-broadcast
            if campaign_over and row.status == I.RECORDING:
                row.status, row.last_chain_error = I.FAILED, "the campaign closed first"
        if (
            row.status,
            row.recorded_tx_hash,
            row.cancelled_tx_hash,
            row.confirmed_at,
            row.cancelled_at,
        ) == before:
            continue
        Investment.objects.filter(pk=row.pk).update(
            status=row.status,
            recorded_tx_hash=row.recorded_tx_hash,
            confirmed_at=row.confirmed_at,
            cancelled_tx_hash=row.cancelled_tx_hash,
            cancelled_at=row.cancelled_at,
            last_chain_error=row.last_chain_error,
        )
        touched_campaigns.add(row.campaign_id)
    if touched_campaigns:
        for campaign_id in sorted(touched_campaigns):
            refresh_campaign_totals(campaign_id)
    INVESTMENTS.refresh(row.pk for row in rows)


def investment_keys(event) -> list[str]:
    return [event.args["investmentRef"]]


# --- share certificates ------------------------------------------------------------------------------


def project_certificates(keys: set[tuple[str, object]]) -> None:
    """Token id, status and owner of each certificate: its surviving CertificateMinted, then the `to`
    of the last surviving Transfer of that token. Keys are ("ref", certificateRef) or ("token", id)."""
    refs = {value for kind, value in keys if kind == "ref"}
    tokens = {int(value) for kind, value in keys if kind == "token"}
    rows = list(
        ShareCertificate.objects.select_for_update()
        .filter(Q(certificate_ref__anyof=refs) | Q(token_id__anyof=tokens))
        .order_by("pk")
    )
    if not rows:
        return  # mints and transfers of certificates the platform did not issue
    mints = {
        e.args["certificateRef"]: e
        for e in _surviving(
            event_name="CertificateMinted", args__certificateRef__in=[r.certificate_ref for r in rows]
        )
    }
    token_of = {
        row.pk: (int(mints[row.certificate_ref].args["tokenId"]) if row.certificate_ref in mints else None)
        for row in rows
    }
    owners: dict[int, str] = {}
    live_tokens = [t for t in token_of.values() if t is not None]
    if live_tokens:
        certificates = _certificate_contracts()
        for event in _surviving(
            event_name="Transfer", contract_address__in=certificates, args__tokenId__in=live_tokens
        ):
            owners[int(event.args["tokenId"])] = event.args["to"]
    # A token id can move from one certificate to another (a mint re-mined in another order):
    # release every id that changes hands first, so the unique index never sees two holders.
    moving = [row.pk for row in rows if row.token_id is not None and row.token_id != token_of[row.pk]]
    if moving:
        ShareCertificate.objects.filter(pk__in=moving).update(token_id=None, status=CertificateStatus.MINTING)
    for row in rows:
        token = token_of[row.pk]
        mint = mints.get(row.certificate_ref)
        if token is not None:
            values = {
                "token_id": token,
                "status": CertificateStatus.MINTED,
                "minted_tx_hash": mint.tx_hash,
                "owner": owners.get(token, mint.args["owner"]),
                "last_chain_error": "",
            }
        elif row.status == CertificateStatus.FAILED:
            values = {"token_id": None, "minted_tx_hash": "", "owner": ""}
        else:
            values = {
                "token_id": None,
                "status": CertificateStatus.MINTING,
                "minted_tx_hash": "",
                "owner": "",
            }
        if all(getattr(row, field) == value for field, value in values.items()) and row.pk not in moving:
            continue
        ShareCertificate.objects.filter(pk=row.pk).update(**values)
    CERTIFICATES.refresh(row.pk for row in rows)


def _certificate_contracts() -> list[str]:
    from blockchain.models import ContractDeployment

    return list(
        ContractDeployment.objects.filter(chain_id=settings.CHAIN_ID, name="ShareCertificate").values_list(
            "address", flat=True
        )
    )


def certificate_keys(event) -> list[tuple[str, object]]:
    if event.name == "CertificateMinted":
        return [("ref", event.args["certificateRef"])]
    return [("token", int(event.args["tokenId"]))]


# --- rebuild -------------------------------------------------------------------------------------------


def reset_chain_facts() -> None:
    """Before `rebuild_from_chain` replays the logs: every chain-derived column back to "not seen on
    chain yet". The platform's own columns (requests, attempts) stay and the chain's times come back
    from the blocks, so the replay reproduces the same answers; nothing here reaches a signal or the
    outbox."""
    # Statuses and contract addresses stay: the replay derives them from a chain-decided start as it
    # does from any other (it finds the same address in the creation event). Moving every finished
    # campaign back to `deploying` at once would break "one campaign in progress per company" for a
    # company with several. Those the chain no longer shows are settled after the replay.
    Campaign.objects.update(
        created_tx_hash="",
        finalized_tx_hash="",
        raised=0,
        activated_at=None,
        closed_at=None,
    )
    Campaign.objects.exclude(status__in=CHAIN_DECIDED).update(contract_address="")
    asked = Investment.objects.exclude(status=I.CANCELLED, record_attempt=0)  # not cancelled while held
    asked.filter(status__in=(I.CONFIRMED, I.CANCELLED, I.REFUNDED)).update(status=I.RECORDING)
    asked.filter(status__in=(I.RECORDING, I.FAILED)).update(
        recorded_tx_hash="", confirmed_at=None, cancelled_tx_hash="", cancelled_at=None
    )
    ShareCertificate.objects.filter(status=CertificateStatus.MINTED).update(status=CertificateStatus.MINTING)
    ShareCertificate.objects.update(token_id=None, owner="", minted_tx_hash="")


def settle_after_rebuild() -> None:
    """After the replay: a chain-decided campaign whose creation the replay did not see (its
    `created_tx_hash` is still empty) is projected like one whose creation a reorg took away: back
    to `deploying`, its createCampaign intent re-broadcast by the confirmer. One that cannot (its
    company already has a campaign in progress) is left as it was and logged; reconcile reports it."""
    from django.db import IntegrityError, transaction

    unseen = Campaign.objects.filter(status__in=CHAIN_DECIDED, created_tx_hash="").order_by("pk")
    for ref in unseen.values_list("campaign_ref", flat=True):
        try:
            with transaction.atomic():
                project_campaigns(set(), refs=[ref])
        except IntegrityError:
            logger.error(
                "rebuild: campaign %s is not on this chain, but its company has a campaign in progress; "
                "left as it was",
                ref,
            )
