"""/healthz answers 503 while the indexer fails on every run or its cursor is past the chain head."""

from __future__ import annotations

import pytest

from blockchain.indexing.indexer import Indexer
from blockchain.models import ChainSyncState
from blockchain.state import remember_head

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


def indexer_check(health_client) -> tuple[int, dict]:
    response = health_client.get("/healthz")
    return response.status_code, response.json()["checks"]["indexer"]


def test_a_failing_indexer_turns_health_to_503_without_showing_the_exception(contracts, health_client):
    Indexer().run()
    assert indexer_check(health_client)[0] == 200
    Indexer.record_failure(RuntimeError("rewind violated live_campaign_has_contract at http://node:8545/KEY"))
    status, check = indexer_check(health_client)
    assert status == 503 and check["ok"] is False
    assert check["error"] == "the indexer's last run failed"
    assert "KEY" not in health_client.get("/healthz").content.decode()
    Indexer().run()  # a good run clears the failure
    assert indexer_check(health_client)[0] == 200


def test_a_cursor_ahead_of_the_chain_head_is_503_and_names_the_command(contracts, health_client):
    Indexer().run()
    state = ChainSyncState.objects.get()
    remember_head(state.indexed_block)
    assert indexer_check(health_client)[0] == 200
    remember_head(max(0, state.indexed_block - 10))  # the node was reset under the platform
    status, check = indexer_check(health_client)
    assert status == 503 and check["ok"] is False
    assert "rebuild_from_chain" in check["error"]


def test_chain_status_says_when_the_chain_is_older_than_the_database_and_the_command(contracts, chain):
    from io import StringIO

    from django.core.management import CommandError, call_command

    Indexer().run()
    call_command("chain_status", "--against-database", stdout=StringIO())  # in step: nothing to say
    state = ChainSyncState.objects.get()
    head = int(chain.rpc("eth_blockNumber"), 16)
    state.indexed_block = head + 250  # what a database sees after its node was restored from an old state
    state.save(update_fields=["indexed_block"])
    with pytest.raises(CommandError) as refused:
        call_command("chain_status", "--against-database", stdout=StringIO())
    message = str(refused.value)
    assert f"the chain is older than the database: the node's head is block {head}" in message
    assert f"remembers block {head + 250}" in message
    assert message.endswith("`python manage.py rebuild_from_chain`")
    report = StringIO()
    with pytest.raises(CommandError):
        call_command("chain_status", stdout=report)  # the full report says it too, after the facts
    assert f"database     knows blocks up to {head + 250}" in report.getvalue()


def test_an_unhealthy_answer_is_not_logged_as_a_server_error(contracts, health_client):
    import logging

    class Collect(logging.Handler):
        def __init__(self) -> None:
            super().__init__(level=logging.DEBUG)
            self.records: list[logging.LogRecord] = []

        def emit(self, record: logging.LogRecord) -> None:
            self.records.append(record)

    collect = Collect()
    request_logger = logging.getLogger("django.request")
    request_logger.addHandler(collect)
    try:
        Indexer.record_failure(RuntimeError("boom"))
        assert health_client.get("/healthz").status_code == 503
        assert health_client.get("/api/no-such-thing/").status_code == 404  # the logger itself still works
    finally:
        request_logger.removeHandler(collect)
    logged = [(r.levelname, r.getMessage()) for r in collect.records]
    assert not any("/healthz" in message for _, message in logged), logged
    assert any("/api/no-such-thing/" in message for _, message in logged), logged
