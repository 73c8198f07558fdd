"""The long-running poller (a real process), its lock, and rebuilding the cache from the chain."""

from __future__ import annotations

import os
import sys
import time
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command

from blockchain.indexing.indexer import Indexer
from blockchain.indexing.reconcile import run_reconcile
from blockchain.indexing.tasks import index_chain_events
from blockchain.models import ChainEvent, ChainSyncState, WatchedContract
from devtools.processes import ManagedProcess, wait_until
from tests.conftest import LOG_DIR, _database_url_for
from tests.indexer.helpers import mint_batch, store_loan

pytestmark = [pytest.mark.chain]


def poller(extra_env: dict[str, str] | None = None, *args: str) -> ManagedProcess:
    from django.db import connection

    env = {
        **os.environ,
        "DATABASE_URL": _database_url_for(connection.settings_dict),
        # One block per eth_getLogs call: the run takes long enough to be killed in the middle.
        "INDEXER_INITIAL_RANGE": "1",
        "INDEXER_MAX_RANGE": "1",
        # A short lock TTL, so a killed poller's lock frees itself quickly.
        "INDEXER_LOCK_TTL": "3",
        **(extra_env or {}),
    }
    return ManagedProcess(
        "poller",
        [sys.executable, "manage.py", "poll_blockchain", "--interval", "0.2", *args],
        env=env,
        cwd=settings.BASE_DIR,
        log_path=LOG_DIR / "poller.log",
    ).start()


@pytest.mark.django_db(transaction=True)
def test_poller_killed_mid_batch_then_restarted_loses_and_duplicates_nothing(contracts):
    ids = {store_loan(contracts["LoanRegistry"]) for _ in range(60)}
    first = poller()
    try:
        wait_until(
            lambda: ChainEvent.objects.filter(event_name="LoanStored").exists(),
            timeout=60,
            what="the poller to index something",
        )
        # While it runs it holds the indexer lock: the beat task stands aside.
        assert index_chain_events() is None
    finally:
        first.kill()  # SIGKILL, mid-run: no clean shutdown, no lock release
    partial = ChainEvent.objects.filter(event_name="LoanStored").count()
    assert 0 < partial < 60, "the kill should land in the middle of the backfill"

    # The dead poller's lock expires (TTL); a new poller takes over where the cursors say.
    second = poller({}, "--once")
    try:
        wait_until(lambda: not second.running(), timeout=90, what="the second poller to finish")
    finally:
        second.stop()
    live = ChainEvent.objects.filter(event_name="LoanStored", removed=False)
    assert {e.args["loanId"] for e in live} == ids
    assert live.count() == 60  # nothing twice
    assert run_reconcile().drift_count == 0


@pytest.mark.django_db(transaction=True)
def test_poller_stops_cleanly_on_sigterm_and_releases_the_lock(contracts):
    store_loan(contracts["LoanRegistry"])
    proc = poller({"INDEXER_INITIAL_RANGE": "1000", "INDEXER_MAX_RANGE": "1000"})
    try:
        wait_until(
            lambda: ChainEvent.objects.filter(event_name="LoanStored").exists(),
            timeout=60,
            what="the poller to index",
        )
        assert proc.stop(timeout=20) == 0
    finally:
        proc.stop()
    assert "poller: stopped" in proc.log_tail(20)
    assert index_chain_events() is not None  # the lock is free again


@pytest.mark.django_db
def test_rebuild_from_chain_reproduces_10000_events(contracts):
    for _ in range(34):  # each certificate of a batch emits MetadataUpdate, CertificateMinted, Transfer
        mint_batch(contracts["ShareCertificate"], 100)
    Indexer().run()
    fields = (
        "chain_id",
        "contract_address",
        "event_name",
        "args",
        "block_number",
        "block_hash",
        "tx_hash",
        "log_index",
        "removed",
    )
    before = sorted(map(repr, ChainEvent.objects.values_list(*fields)))
    watched_before = sorted(WatchedContract.objects.filter(active=True).values_list("address", "artifact"))
    assert len(before) >= 10_000

    out = StringIO()
    started = time.perf_counter()
    call_command("rebuild_from_chain", "--no-progress", stdout=out)
    elapsed = time.perf_counter() - started
    after = sorted(map(repr, ChainEvent.objects.values_list(*fields)))
    assert after == before
    assert (
        sorted(WatchedContract.objects.filter(active=True).values_list("address", "artifact"))
        == watched_before
    )
    assert "replayed" in out.getvalue()
    assert ChainSyncState.objects.get().lag_blocks == 0
    print(f"rebuild of {len(after)} events took {elapsed:.2f}s")


@pytest.mark.django_db
def test_reconcile_command_exits_non_zero_on_drift(contracts):
    from django.core.management.base import CommandError

    store_loan(contracts["LoanRegistry"])
    Indexer().run()
    out = StringIO()
    call_command("reconcile", stdout=out)
    assert "drift 0" in out.getvalue()
    ChainEvent.objects.filter(event_name="LoanStored").delete()
    with pytest.raises(CommandError, match="drift 1"):
        call_command("reconcile", stdout=StringIO())
