"""Enqueue: the only way domain code asks for a chain write (an outbox row in its DB transaction)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connection, models, transaction
from django.utils import timezone

from blockchain.chain.abi import interface, to_json_value
from blockchain.chain.bindings import deployment_of
from blockchain.models import AttemptStatus, ChainTransaction, TxAttempt, TxStatus
from blockchain.outbox.hooks import rows_changed
from blockchain.outbox.lanes import assign_lane, subject_ordering_key

logger = logging.getLogger(__name__)


class OutboxError(Exception):
    pass


def _json_args(contract: str, function: str, args: Sequence[Any]) -> list:
    item = interface(contract).functions[function]
    out = []
    for param, value in zip(item["inputs"], args, strict=True):
        out.append(to_json_value(value, param["type"]) if not isinstance(value, dict) else value)
    return [str(v) if isinstance(v, int) and abs(v) >= 2**53 else v for v in out]


def intent_key(kind: str, subject: models.Model, attempt: int) -> str:
    """The idempotency key of a domain intent: one chain effect per kind, subject row, attempt and chain.
    A domain row counts its attempts; a new attempt (a retry after a failure) is a new intent."""
    return f"{kind}:{settings.CHAIN_ID}:{subject.pk}:{attempt}"


def enqueue(
    *,
    kind: str,
    contract: str,
    function: str,
    args: Sequence[Any],
    idempotency_key: str,
    subject: models.Model | None = None,
    address: str | None = None,
    value: int = 0,
    ordering_key: str = "",
) -> ChainTransaction:
    """Record a chain write as an outbox row, in the caller's DB transaction.

    `contract` names the artifact (ABI); the address is its active deployment unless `address` is
    given (contracts the suite creates, e.g. a Campaign clone). The calldata is encoded now, so bad
    arguments fail here, before anything commits. The same `idempotency_key` returns the existing
    row: a retried request or a re-saved domain row never makes a second chain effect. The send
    task is queued when the transaction commits; if the broker is down then, the beat sweep finds
    the row.

    The row gets its signer (nonce lane) now: intents with the same `ordering_key` (default: the
    subject; without one, the idempotency key) stay on one lane while one of them is in flight
    (blockchain.outbox.lanes).
    """
    if not connection.in_atomic_block:
        raise OutboxError("enqueue() must run inside the domain change's transaction.atomic()")
    existing = ChainTransaction.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    calldata = interface(contract).encode_call(function, list(args))
    target = address or deployment_of(contract).address
    row = ChainTransaction(
        kind=kind,
        idempotency_key=idempotency_key,
        chain_id=settings.CHAIN_ID,
        contract_name=contract,
        contract_address=target,
        function=function,
        args=_json_args(contract, function, args),
        calldata=calldata,
        value=value,
    )
    if subject is not None:
        row.content_type = ContentType.objects.get_for_model(subject, for_concrete_model=False)
        row.object_id = subject.pk
    if not ordering_key:
        ordering_key = subject_ordering_key(subject) if subject is not None else idempotency_key
    row.ordering_key = ordering_key[:200]
    row.signer = assign_lane(settings.CHAIN_ID, row.ordering_key)
    with transaction.atomic():  # a savepoint: a racing duplicate key loses cleanly
        row.save()
    # After commit: a read in between would cache a pending delta without this row.
    rows_changed_on_commit(row)
    kick_sender_on_commit()
    return row


class _RowsChangedOnCommit:
    """The row listeners' one call, after commit, for the intents one transaction enqueued."""

    def __init__(self, savepoints: set[str]) -> None:
        self.savepoints = savepoints  # Django's record of where the hook was registered
        self.rows: list[tuple[ChainTransaction, set[str]]] = []

    def add(self, row: ChainTransaction, savepoints: set[str]) -> None:
        self.rows.append((row, savepoints))

    def __call__(self) -> None:
        # A row enqueued inside a savepoint the hook was not registered in may have been rolled
        # back with it (the hook survives): only rows the commit kept are told.
        doubtful = [row.pk for row, savepoints in self.rows if not savepoints <= self.savepoints]
        kept = set(ChainTransaction.objects.filter(pk__anyof=doubtful).values_list("pk", flat=True))
        rows_changed(
            [row for row, savepoints in self.rows if savepoints <= self.savepoints or row.pk in kept]
        )


def rows_changed_on_commit(row: ChainTransaction) -> None:
    """Tell the row listeners about `row` once its transaction commits, in one call for all the
    intents the transaction enqueues: 1,000 intents cost one balance-cache invalidation, not 1,000.

    A row joins the transaction's pending call wherever it was registered. Rolling back a savepoint
    drops every hook registered inside it (Django), and every savepoint still open now is one this
    row is inside too, so a dropped call drops nothing that should have been told; a row whose own
    savepoint rolls back later is left out when the call runs."""
    savepoints = set(transaction.get_connection().savepoint_ids)
    hook = _pending_on_commit(lambda func: isinstance(func, _RowsChangedOnCommit))
    if hook is None:
        hook = _RowsChangedOnCommit(savepoints)
        transaction.on_commit(hook)
    hook.add(row, savepoints)


def _kick_after_commit() -> None:
    from blockchain.outbox.tasks import kick_sender

    kick_sender()


def _pending_on_commit(matches: Callable[[Callable], bool]) -> Callable | None:
    """The newest hook this transaction will run on commit that `matches` accepts, or None. A hook
    a rolled-back savepoint took away is no longer in Django's list."""
    for _sids, func, _robust in reversed(transaction.get_connection().run_on_commit):
        if matches(func):
            return func
    return None


def kick_sender_on_commit() -> None:
    """One kick per committed transaction, however many intents it enqueued (a batch of 1,000
    rows costs one message; the worker draining it calls for help when it sees a backlog)."""
    if _pending_on_commit(lambda func: func is _kick_after_commit) is None:
        transaction.on_commit(_kick_after_commit)


def retry_failed(*, tx: ChainTransaction) -> ChainTransaction:
    """Queue a failed row again as a fresh attempt (new nonce); its earlier hashes stay on record."""
    with transaction.atomic():
        locked = ChainTransaction.objects.select_for_update().get(pk=tx.pk)
        if locked.status != TxStatus.FAILED:
            raise OutboxError(f"only failed transactions can be retried (this one is {locked.status})")
        TxAttempt.objects.filter(transaction=locked, status=AttemptStatus.PENDING).update(
            status=AttemptStatus.DROPPED
        )
        locked.status = TxStatus.QUEUED
        locked.nonce = None
        locked.raw_tx = None
        locked.tx_hash = ""
        locked.error_code = ""
        locked.error = None
        locked.failed_at = None
        locked.block_number = None
        locked.block_hash = ""
        locked.last_error = f"retried at {timezone.now().isoformat()}"
        locked.save()
        kick_sender_on_commit()
    return locked


def rebroadcast(*, tx: ChainTransaction) -> None:
    """Ask a worker to send the stored bytes of a signed/sent row again (idempotent at the node)."""
    from blockchain.outbox.tasks import send_rebroadcast

    tx.refresh_from_db()
    if tx.status not in (TxStatus.SIGNED, TxStatus.SENT):
        raise OutboxError(f"only signed or sent transactions can be re-broadcast (this one is {tx.status})")
    send_rebroadcast.apply_async(args=[tx.pk], retry=False)
