"""Reads of the audit log: events with their chain transactions, and the CSV export."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from django.db.models import QuerySet

from audit.models import AuditEvent
from blockchain.models import ChainTransaction
from core.spreadsheet import SafeWriter

EXPORT_COLUMNS = (
    "id",
    "at",
    "source",
    "actor_label",
    "role",
    "action",
    "method",
    "path",
    "status_code",
    "subject_type",
    "subject_id",
    "ip",
    "request_id",
    "tx_hashes",
    "outcome",
    "changes",
)
_EXPORT_CHUNK = 2000


def tx_hashes_by_outbox_id(outbox_ids: Iterable[int]) -> dict[int, str]:
    """The current hash of each outbox row (empty while still queued). One query."""
    ids = {int(i) for i in outbox_ids}
    if not ids:
        return {}
    return dict(ChainTransaction.objects.filter(pk__in=ids).values_list("pk", "tx_hash"))


class _Echo:
    def write(self, value: str) -> str:
        return value


def export_rows(events: QuerySet[AuditEvent]) -> Iterator[str]:
    """CSV lines for `events` (header first), streamed in chunks with two queries per chunk."""
    writer = SafeWriter(_Echo())  # every cell neutralised against formula injection
    yield writer.writerow(EXPORT_COLUMNS)
    chunk: list[AuditEvent] = []
    for event in events.order_by("at", "id").iterator(chunk_size=_EXPORT_CHUNK):
        chunk.append(event)
        if len(chunk) == _EXPORT_CHUNK:
            yield from _chunk_lines(writer, chunk)
            chunk = []
    yield from _chunk_lines(writer, chunk)


def _chunk_lines(writer, events: list[AuditEvent]) -> Iterator[str]:
    hashes = tx_hashes_by_outbox_id(i for event in events for i in event.outbox_ids)
    for event in events:
        row = {
            **{column: getattr(event, column, "") for column in EXPORT_COLUMNS},
            "at": event.at.isoformat(),
            "tx_hashes": " ".join(hashes.get(i) or f"outbox#{i}" for i in event.outbox_ids),
            "changes": json.dumps(event.changes, sort_keys=True, ensure_ascii=False),
        }
        yield writer.writerow([row[column] for column in EXPORT_COLUMNS])
