"""One indexer at a time, and never blocked for long by a dead one: a short lock renewed by a
heartbeat while its holder lives."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings

from blockchain.indexing.indexer import INDEXER_LOCK
from core.locks import acquire_lock, held_lock
from devtools.processes import wait_until
from tests.indexer.test_poller_and_rebuild import poller

pytestmark = [pytest.mark.chain]


def held_by_another(name: str) -> bool:
    probe = acquire_lock(name, ttl=1)
    if probe is None:
        return True
    probe.release()
    return False


def test_a_live_holder_keeps_a_short_lock_well_past_its_ttl():
    name = "test:heartbeat"
    done = threading.Event()
    with held_lock(name, ttl=2, heartbeat=True) as handle:
        assert handle is not None
        done.wait(7)  # more than three TTLs: without the heartbeat the lock would have expired
        assert acquire_lock(name, ttl=2) is None
    taken = acquire_lock(name, ttl=2)
    assert taken is not None  # released on exit
    taken.release()


def test_the_default_indexer_lock_is_short():
    # A dead holder blocks the indexer for at most one TTL (was 300 s): seconds, not minutes.
    assert settings.INDEXER_LOCK_TTL <= 30


@pytest.mark.django_db(transaction=True)
def test_a_killed_poller_is_replaced_within_its_lock_ttl(contracts):
    # A TTL shorter than the default (test_the_default_indexer_lock_is_short bounds that one): the
    # behaviour is the same, the wait for the expiry shorter.
    ttl = 4
    running = poller({"INDEXER_LOCK_TTL": str(ttl)})
    try:
        wait_until(
            lambda: held_by_another(INDEXER_LOCK),
            timeout=60,
            what="the poller to hold the indexer lock",
        )
    finally:
        running.kill()  # SIGKILL: no release, no clean shutdown
    holder = {}

    def taken() -> bool:
        holder["lock"] = acquire_lock(INDEXER_LOCK, ttl=5)
        return holder["lock"] is not None

    wait_until(taken, timeout=ttl * 4, what="the dead poller's lock to expire")
    holder["lock"].release()
