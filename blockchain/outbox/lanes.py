"""Nonce lanes: which signer of the pool an outbox intent goes through.

Every signer has its own nonce allocator (`NonceAccount`), so its transactions are signed and mined
in order while the signers run in parallel. An intent is given a lane when it is enqueued and keeps
it (stored in `ChainTransaction.signer`) until it is final, whatever happens to the pool meanwhile:

- its ordering key (declared per intent: by default its subject; every intent of one campaign uses
  the campaign) is sticky: while an intent with the same key is in flight (queued, signed, sent or
  mined), a new one joins that intent's lane, behind it;
- otherwise the key picks an active lane by rendezvous hashing (stable while the pool does not
  change; adding or retiring a signer moves only the keys that chose it).

Active lanes are the configured signers (settings) that operators left active (`SignerLane`): the
primary unless retired, a pool signer once its operator role was granted and recorded. A retired
signer gets no new keys; its in-flight intents finish on it (an entity already on it follows them).
"""

from __future__ import annotations

import hashlib
import logging

from django.db import models
from django.db.models import Count, Q

from blockchain.chain.signer import SignerConfigurationError, get_signer_address, pool_addresses
from blockchain.models import IN_FLIGHT_STATUSES, ChainTransaction, SignerLane, TxStatus

logger = logging.getLogger(__name__)


def subject_ordering_key(subject: models.Model) -> str:
    """The default ordering key of an intent: its subject row (app label, model, primary key)."""
    meta = subject._meta
    return f"{meta.app_label}.{meta.model_name}:{subject.pk}"


def active_lanes(chain_id: int) -> list[str]:
    """The signers that take new ordering keys on `chain_id`, in settings order."""
    try:
        configured = pool_addresses()
        primary = get_signer_address()
    except SignerConfigurationError as exc:  # a process without keys: the sender assigns later
        logger.debug("no signer pool here (%s); lanes are chosen when signing", exc)
        return []
    rows = dict(SignerLane.objects.filter(chain_id=chain_id).values_list("address", "active"))
    lanes = [a for a in configured if rows.get(a, a == primary)]
    return lanes


def _weight(key: str, address: str) -> bytes:
    return hashlib.blake2b(f"{address.lower()}|{key}".encode(), digest_size=8).digest()


def pick_lane(key: str, lanes: list[str]) -> str:
    """Rendezvous (highest random weight) hashing: the same key picks the same lane while it is in
    the pool, and retiring a lane moves only its own keys."""
    return max(lanes, key=lambda address: _weight(key, address))


def in_flight_lane(chain_id: int, key: str) -> str | None:
    """The lane of an in-flight intent with this ordering key (the newest), if any."""
    if not key:
        return None
    return (
        ChainTransaction.objects.filter(chain_id=chain_id, ordering_key=key, status__in=IN_FLIGHT_STATUSES)
        .exclude(signer="")
        .order_by("-id")
        .values_list("signer", flat=True)
        .first()
    )


def assign_lane(chain_id: int, key: str, *, lanes: list[str] | None = None) -> str:
    """The signer a new intent with ordering key `key` goes through ("" when no signer is known in
    this process: the sender chooses when it signs)."""
    sticky = in_flight_lane(chain_id, key)
    if sticky:
        return sticky
    lanes = active_lanes(chain_id) if lanes is None else lanes
    if not lanes:
        return ""
    return pick_lane(key, lanes)


def assign_unlaned(chain_id: int, *, limit: int = 5000) -> int:
    """Give a lane to queued rows that have none (enqueued before the pool existed, or by a process
    that knew no signer). Returns how many were assigned."""
    rows = list(
        ChainTransaction.objects.filter(chain_id=chain_id, status=TxStatus.QUEUED, signer="")
        .order_by("id")
        .only("id", "ordering_key", "idempotency_key")[:limit]
    )
    if not rows:
        return 0
    lanes = active_lanes(chain_id)
    if not lanes:
        return 0
    assigned = 0
    for row in rows:
        key = row.ordering_key or row.idempotency_key
        signer = assign_lane(chain_id, key, lanes=lanes)
        assigned += ChainTransaction.objects.filter(pk=row.pk, signer="", status=TxStatus.QUEUED).update(
            signer=signer
        )
    return assigned


def queued_lanes(chain_id: int) -> list[str]:
    """Signers with queued rows, most queued first."""
    return list(
        ChainTransaction.objects.filter(chain_id=chain_id, status=TxStatus.QUEUED)
        .exclude(signer="")
        .values("signer")
        .annotate(n=Count("id"))
        .order_by("-n")
        .values_list("signer", flat=True)
    )


def lane_load(chain_id: int) -> dict[str, dict[str, int]]:
    """In-flight rows per signer and status (operators' `signer_pool status`)."""
    out: dict[str, dict[str, int]] = {}
    rows = (
        ChainTransaction.objects.filter(chain_id=chain_id)
        .filter(Q(status__in=IN_FLIGHT_STATUSES))
        .values_list("signer", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for signer, status, n in rows:
        out.setdefault(signer or "-", {})[status] = n
    return out
