"""What partners hear from the chain side (webhooks): failed writes, reorgs, reconciliation drift,
and the domain entities whose shown status follows an outbox row that just settled.

The chain side names no domain app: a settled or failed row refreshes its subject through the
announcers the domain apps registered with webhooks.
"""

from __future__ import annotations

from collections.abc import Iterable

from blockchain.models import ChainTransaction, ReconcileReport, ReorgRecord
from webhooks.announcers import refresh_subject
from webhooks.services import announce


def transaction_data(pk: int) -> dict:
    from blockchain.serializers import ChainTransactionSerializer

    row = ChainTransaction.objects.select_related("content_type").prefetch_related("attempt_set").get(pk=pk)
    return ChainTransactionSerializer(row).data


def subjects_settled(rows: Iterable[ChainTransaction]) -> None:
    """Outbox rows confirmed, failed or sent back in flight: their subjects' shown status may have
    moved with them (a credential reads `issued` only once its anchoring is confirmed)."""
    for row in rows:
        if row.content_type_id is not None and row.object_id is not None:
            refresh_subject(row.content_type.model_class(), row.object_id)


def transaction_failed(row: ChainTransaction) -> None:
    """`chain.transaction_failed`, in the transaction that failed the row, and its subject refreshed."""
    announce("chain.transaction_failed", data=lambda: transaction_data(row.pk), subject=row)
    subjects_settled([row])


def reorg_detected(record: ReorgRecord) -> None:
    announce(
        "indexer.reorg",
        data={
            "id": record.pk,
            "chain_id": record.chain_id,
            "fork_block": record.fork_block,
            "depth": record.depth,
            "events_removed": record.events_removed,
            "detected_at": record.detected_at,
        },
        subject=record,
    )


def drift_found(report: ReconcileReport) -> None:
    if report.drift_count:
        announce(
            "reconcile.drift",
            data={
                "id": report.pk,
                "chain_id": report.chain_id,
                "checked": report.checked,
                "drift_count": report.drift_count,
                "drift": report.drift[:100],
                "finished_at": report.finished_at,
            },
            subject=report,
        )
