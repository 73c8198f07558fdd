"""Raw logs (JSON from receipts or eth_getLogs) into decoded, stored and projected events.

The receipt path (confirmer) and the indexer share this module, so an event is decoded, stored
and projected the same way whichever path sees it first.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection, transaction
from eth_utils import to_checksum_address

from blockchain.chain.abi import checksum_address, interface
from blockchain.chain.client import get_web3, rpc_batch
from blockchain.indexing.registry import DecodedEvent, project_touched
from blockchain.models import ChainEvent, WatchedContract

logger = logging.getLogger(__name__)


class WatchedAddresses:
    """address -> artifact name for one chain; reloaded from the DB when an address is unknown."""

    def __init__(self, chain_id: int) -> None:
        self.chain_id = chain_id
        self._by_address: dict[str, str] = {}
        self.reload()

    def reload(self) -> None:
        self._by_address = {
            address.lower(): artifact
            for address, artifact in WatchedContract.objects.filter(
                chain_id=self.chain_id, active=True
            ).values_list("address", "artifact")
        }

    def artifact_of(self, address: str, *, reload_on_miss: bool = True) -> str | None:
        key = address.lower()
        if key not in self._by_address and reload_on_miss:
            self.reload()
        return self._by_address.get(key)

    def addresses(self) -> list[str]:
        return [to_checksum_address(a) for a in self._by_address]


def _hex_to_int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


def decode_log(
    raw: dict, *, chain_id: int, artifact: str, transaction_id: int | None = None
) -> DecodedEvent | None:
    """Decode one raw JSON log with `artifact`'s ABI; None for an event the ABI does not know."""
    topics = raw["topics"]
    spec = interface(artifact).events_by_topic_hex.get(topics[0].lower()) if topics else None
    if spec is None:
        return None
    timestamp = raw.get("blockTimestamp")
    return _decoded(
        raw,
        spec,
        chain_id,
        checksum_address(raw["address"]),
        artifact,
        transaction_id,
        _hex_to_int(raw["blockNumber"]),
        _hex_to_int(timestamp) if timestamp else None,
    )


_new_object = object.__new__
_set_attribute = object.__setattr__


def _decoded(
    raw: dict,
    spec: Any,
    chain_id: int,
    address: str,
    artifact: str,
    transaction_id: int | None,
    block_number: int,
    block_timestamp: int | None,
) -> DecodedEvent:
    """`DecodedEvent(...)` of one raw log, built without the frozen dataclass's __init__ (eleven
    guarded attribute writes, a third of the cost of decoding a log): its fields as its __dict__,
    the object the constructor makes (a test compares them)."""
    log_index = raw["logIndex"]
    event = _new_object(DecodedEvent)
    _set_attribute(
        event,
        "__dict__",
        {
            "chain_id": chain_id,
            "address": address,
            "artifact": artifact,
            "name": spec.name,
            "args": spec.decode_hex(raw["topics"], raw.get("data")),
            "block_number": block_number,
            "block_hash": raw["blockHash"],
            "tx_hash": raw["transactionHash"],
            "log_index": int(log_index, 16) if isinstance(log_index, str) else int(log_index),
            "transaction_id": transaction_id,
            "block_timestamp": block_timestamp,
        },
    )
    return event


def decode_logs(
    raws: Iterable[dict], *, watched: WatchedAddresses, transaction_id: int | None = None
) -> list[DecodedEvent]:
    events = []
    chain_id = watched.chain_id
    # Per address seen in this call: (artifact, EIP-55 address, events by topic0), or None when it
    # is not one of ours (a token we call, a foreign contract).
    contracts: dict[str, tuple[str, str, dict] | None] = {}
    block_key: tuple[Any, Any] | None = None  # a block's logs come together: its numbers read once
    block_number, block_timestamp = 0, None
    for raw in raws:
        if raw.get("removed"):
            continue
        address = raw["address"]
        if address in contracts:
            contract = contracts[address]
        else:
            artifact = watched.artifact_of(address)
            contract = contracts[address] = (
                None
                if artifact is None
                else (artifact, checksum_address(address), interface(artifact).events_by_topic_hex)
            )
        if contract is None:
            continue
        topics = raw["topics"]
        spec = contract[2].get(topics[0].lower()) if topics else None
        if spec is None:
            continue
        key = (raw["blockNumber"], raw.get("blockTimestamp"))
        if key != block_key:
            block_key = key
            block_number = _hex_to_int(key[0])
            # Nodes that follow the 2025 execution-API change (anvil, geth ≥ 1.16, reth) put the
            # block's timestamp in every log; for the others `with_block_times` reads the headers.
            block_timestamp = _hex_to_int(key[1]) if key[1] else None
        events.append(
            _decoded(
                raw, spec, chain_id, contract[1], contract[0], transaction_id, block_number, block_timestamp
            )
        )
    return events


def with_block_times(events: list[DecodedEvent], *, w3: Any = None) -> list[DecodedEvent]:
    """The events with their block's timestamp: from the log where the node gave it, else from one
    header per distinct block (by hash, so a reorged block's time never leaks in), in one batch."""
    missing = sorted({e.block_hash for e in events if e.block_timestamp is None})
    if not missing:
        return events
    headers = rpc_batch(w3 or get_web3(), [("eth_getBlockByHash", [h, False]) for h in missing])
    times = {
        h: _hex_to_int(header["timestamp"])
        for h, header in zip(missing, headers, strict=True)
        if isinstance(header, dict)
    }
    return [
        dataclasses.replace(e, block_timestamp=times.get(e.block_hash)) if e.block_timestamp is None else e
        for e in events
    ]


def block_datetime(timestamp: int | None) -> datetime | None:
    return datetime.fromtimestamp(timestamp, tz=UTC) if timestamp is not None else None


# From this many events on, COPY through the temporary table beats Django's multi-row INSERT plus
# the revive query (measured 2026-12-07: 20 events 2.2 ms against 4.0-6.5 ms, 100 events 3.8-4.5
# against 14-16 ms, 250 events 7-8 against 30-33 ms; 1 to 5 events cost the same, 2.2-2.6 ms). The
# confirmer stores each pass's receipt logs here, typically tens to hundreds of events.
COPY_THRESHOLD = 8
_EVENT_COLUMNS = (
    "chain_id",
    "contract_address",
    "artifact",
    "event_name",
    "args",
    "block_number",
    "block_hash",
    "tx_hash",
    "log_index",
    "block_timestamp",
)


def store_events(events: list[DecodedEvent]) -> int:
    """Insert the events; ones already stored are kept as they are, except that a stored event a
    rewind marked removed is live again when the chain has it once more (same tx, log and block:
    a reorg that re-mined it identically). Returns rows offered.

    All but the smallest batches go through PostgreSQL COPY into a temporary table and one
    INSERT … ON CONFLICT, several times faster than a multi-row INSERT (COPY_THRESHOLD).
    """
    if len(events) >= COPY_THRESHOLD and connection.vendor == "postgresql":
        return _copy_events(events)
    return _insert_events(events)


def _insert_events(events: list[DecodedEvent]) -> int:
    """store_events through the ORM: a multi-row INSERT that skips stored events, then the revive."""
    ChainEvent.objects.bulk_create(
        [
            ChainEvent(
                chain_id=e.chain_id,
                contract_address=e.address,
                artifact=e.artifact,
                event_name=e.name,
                args=e.args,
                block_number=e.block_number,
                block_hash=e.block_hash,
                tx_hash=e.tx_hash,
                log_index=e.log_index,
                block_timestamp=block_datetime(e.block_timestamp),
            )
            for e in events
        ],
        ignore_conflicts=True,
        batch_size=2000,
    )
    _revive(events)
    return len(events)


def _revive(events: list[DecodedEvent]) -> int:
    if not events:
        return 0
    wanted = {(e.tx_hash, e.log_index, e.block_hash) for e in events}
    removed = ChainEvent.objects.filter(
        chain_id=events[0].chain_id, removed=True, tx_hash__in={e.tx_hash for e in events}
    ).values_list("pk", "tx_hash", "log_index", "block_hash")
    ids = [pk for pk, tx_hash, log_index, block_hash in removed if (tx_hash, log_index, block_hash) in wanted]
    return ChainEvent.objects.filter(pk__in=ids).update(removed=False) if ids else 0


# One JSON encoder for every row (json.dumps builds a new one per call: a third of a row's cost),
# with json.dumps's defaults but the circular-reference check (decoded arguments are trees, and a
# marker left by a failed call would be shared by the next).
_c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
_encode_json = (
    _c_make_encoder(
        None,
        json.JSONEncoder().default,
        json.encoder.encode_basestring_ascii,
        None,
        ": ",
        ", ",
        False,
        False,
        True,
    )
    if _c_make_encoder is not None
    else None
)


def _json_text(value: Any) -> str:
    return "".join(_encode_json(value, 0)) if _encode_json is not None else json.dumps(value)


def copy_text(events: list[DecodedEvent], *, suffix: str = "") -> str:
    """The events as COPY text rows of `_EVENT_COLUMNS` (+ `suffix`, tab-separated columns of its
    own). Only the JSON can hold a backslash (its escapes; ensure_ascii leaves no raw tab, newline
    or control character), which COPY's text format doubles; hex, names and numbers need nothing."""
    times: dict[int | None, str] = {None: "\\N"}
    lines = []
    for e in events:
        args = _json_text(e.args)
        if "\\" in args:
            args = args.replace("\\", "\\\\")
        when = times.get(e.block_timestamp)
        if when is None:
            when = times[e.block_timestamp] = datetime.fromtimestamp(e.block_timestamp, tz=UTC).isoformat()
        lines.append(
            f"{e.chain_id}\t{e.address}\t{e.artifact}\t{e.name}\t{args}\t{e.block_number}\t"
            f"{e.block_hash}\t{e.tx_hash}\t{e.log_index}\t{when}{suffix}\n"
        )
    return "".join(lines)


def _copy_events(events: list[DecodedEvent]) -> int:
    table = ChainEvent._meta.db_table
    columns = ", ".join(_EVENT_COLUMNS)
    # One transaction (the caller's, without a savepoint): the temporary table empties itself on
    # commit, so in autocommit the COPY's rows would be gone before the INSERT reads them.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE IF NOT EXISTS chain_event_incoming (chain_id bigint, "
            "contract_address varchar(42), artifact varchar(64), event_name varchar(64), args jsonb, "
            "block_number bigint, block_hash varchar(66), tx_hash varchar(66), log_index integer, "
            "block_timestamp timestamptz) "
            "ON COMMIT DELETE ROWS"
        )
        with cursor.cursor.copy(f"COPY chain_event_incoming ({columns}) FROM STDIN") as copy:
            copy.write(copy_text(events))
        # Fixed identifiers from the model's meta; the rows came in through COPY.
        cursor.execute(
            f"INSERT INTO {table} ({columns}, removed, created_at) "  # noqa: S608  # nosec B608
            f"SELECT {columns}, false, now() FROM chain_event_incoming "
            "ON CONFLICT (chain_id, tx_hash, log_index, block_hash) "
            f"DO UPDATE SET removed = false, block_timestamp = "
            f"COALESCE({table}.block_timestamp, EXCLUDED.block_timestamp) "
            f"WHERE {table}.removed OR {table}.block_timestamp IS NULL"
        )
        cursor.execute("TRUNCATE chain_event_incoming")
    return len(events)


def range_is_new(chain_id: int, start: int, end: int) -> bool:
    """No event of this chain is stored in blocks [start, end], live or removed (one index probe).
    Any stored row that could share a log's unique key (same transaction, log and block hash) is in
    its block, so the logs of such a range can be copied straight into the table."""
    return (
        connection.vendor == "postgresql"
        and not ChainEvent.objects.filter(
            chain_id=chain_id, block_number__gte=start, block_number__lte=end
        ).exists()
    )


def store_new_range(
    logs: list[dict], *, watched: WatchedAddresses, w3: Any = None, chunk: int = 500
) -> tuple[list[DecodedEvent], bool]:
    """Decode, time and store the raw logs of a range where `range_is_new` (in the caller's DB
    transaction): COPY straight into the table, written chunk by chunk while the next chunk is
    decoded, so PostgreSQL inserts while Python decodes; no temporary table, no ON CONFLICT.

    A receipt path that stored one of these logs between the check and the COPY makes it fail on
    the unique key: then everything goes through `store_events` (the conflict-safe path) instead.
    Returns the decoded events, and False when that happened (the range was not new after all)."""
    events: list[DecodedEvent] = []
    decoded = 0
    table = ChainEvent._meta.db_table
    columns = ", ".join(_EVENT_COLUMNS)
    suffix = f"\tf\t{datetime.now(tz=UTC).isoformat()}"  # removed, created_at
    try:
        with (
            transaction.atomic(),
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {table} ({columns}, removed, created_at) FROM STDIN") as copy,
        ):
            for first in range(0, len(logs), chunk):
                part = with_block_times(decode_logs(logs[first : first + chunk], watched=watched), w3=w3)
                events.extend(part)
                decoded = first + chunk
                if part:
                    copy.write(copy_text(part, suffix=suffix))
    except psycopg.errors.UniqueViolation:
        logger.info("indexer: a log of this range was stored meanwhile; storing with ON CONFLICT")
        events.extend(with_block_times(decode_logs(logs[decoded:], watched=watched), w3=w3))
        store_events(events)
        return events, False
    return events, True


def ingest(events: list[DecodedEvent]) -> int:
    """Store decoded events and project what they touch (inside the caller's DB transaction)."""
    if not events:
        return 0
    store_events(events)
    return project_touched(events)


def ingest_receipt_logs(items: list[tuple[int, list[dict]]]) -> int:
    """The receipt path: decode, store and project the logs of confirmed outbox rows
    (`(outbox row id, raw logs)`), in the confirmer's DB transaction. Returns projections run."""
    if not items:
        return 0
    watched = WatchedAddresses(settings.CHAIN_ID)
    events: list[DecodedEvent] = []
    for transaction_id, logs in items:
        events.extend(decode_logs(logs, watched=watched, transaction_id=transaction_id))
    return ingest(with_block_times(events))


def orphan_receipt_events(items: list[tuple[str, str]]) -> int:
    """The receipt path's events of `(tx hash, block hash)` that a reorg took away: marked removed and
    their entities projected again. Returns events removed."""
    wanted = set(items)
    rows = [
        row
        for row in ChainEvent.objects.select_for_update().filter(
            chain_id=settings.CHAIN_ID, removed=False, tx_hash__in={tx for tx, _block in items}
        )
        if (row.tx_hash, row.block_hash) in wanted
    ]
    return len(remove_events(rows))


def event_from_row(row: ChainEvent) -> DecodedEvent:
    return DecodedEvent(
        chain_id=row.chain_id,
        address=row.contract_address,
        artifact=row.artifact,
        name=row.event_name,
        args=row.args,
        block_number=row.block_number,
        block_hash=row.block_hash,
        tx_hash=row.tx_hash,
        log_index=row.log_index,
        block_timestamp=int(row.block_timestamp.timestamp()) if row.block_timestamp else None,
    )


def remove_events(rows: list[ChainEvent]) -> list[DecodedEvent]:
    """Mark stored events orphaned (a reorg) and let the domains re-derive what they touched."""
    if not rows:
        return []
    ChainEvent.objects.filter(pk__in=[r.pk for r in rows]).update(removed=True)
    events = [event_from_row(r) for r in rows]
    project_touched(events)
    return events
