"""The backup drill of deploy/README.md ("Backups and restore"), end to end on a real dump.

A `pg_dump -Fc` is taken while N approved loans wait in the outbox; the outbox then anchors them on
chain (N chain writes after the dump) and one more loan is created and anchored after the dump. The
dump is restored into a fresh database, and `manage.py poll_blockchain --once` + `manage.py
reconcile` run against it in subprocesses, as an operator would after a restore.

What the platform guarantees, and what is checked: the N loans that the dump knew are anchored in the
restored database (the indexer finds their LoanStored events, the projection completes them), with
the same transactions as on chain, and reconcile finds zero drift — also after the restored outbox's
stale intents for those loans are sent and fail on chain (the loans stay anchored). What it does not
guarantee: a loan that exists only in rows written after the dump is not in the restored database;
its event is indexed, so the operator finds it (the runbook's "after a restore" list).
"""

from __future__ import annotations

import os
import shutil
import subprocess  # nosec B404 - the PostgreSQL client tools and manage.py, with fixed argv
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from blockchain.outbox import enqueue
from loans import services
from loans.models import Loan, LoanStatus
from tests.conftest import _database_url_for
from tests.support.loans import make_loan
from tests.support.outbox import settle_outbox

pytestmark = [
    pytest.mark.chain,
    pytest.mark.django_db(transaction=True),  # pg_dump and the subprocesses see committed rows only
    pytest.mark.skipif(shutil.which("pg_dump") is None, reason="needs PostgreSQL's client tools"),
]

N = 3  # loans anchored on chain after the dump


def _pg_env(settings_dict: dict) -> tuple[list[str], dict[str, str]]:
    """Connection options for the PostgreSQL client tools, from Django's settings."""
    args = ["-h", settings_dict.get("HOST") or "127.0.0.1", "-p", str(settings_dict.get("PORT") or 5432)]
    if settings_dict.get("USER"):
        args += ["-U", settings_dict["USER"]]
    env = {**os.environ}
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = settings_dict["PASSWORD"]
    return args, env


def _run(argv: list[str], *, env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(  # nosec B603 - fixed argv, no shell
        argv, env=env, cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=timeout, check=False
    )


def _manage(database_url: str, *args: str) -> subprocess.CompletedProcess:
    return _run([sys.executable, "manage.py", *args], env={**os.environ, "DATABASE_URL": database_url})


@pytest.fixture
def restore_target():
    """A database name for the restore, dropped afterwards."""
    settings_dict = connection.settings_dict
    name = f"{settings_dict['NAME']}_restore_{uuid.uuid4().hex[:8]}"[:63]
    yield name
    args, env = _pg_env(settings_dict)
    _run(["dropdb", *args, "--if-exists", "--force", name], env=env)


@pytest.fixture
def no_worker_kicks(monkeypatch):
    """This test drives the outbox in-process: a session Celery worker must not send the approved
    loans before the dump is taken."""
    monkeypatch.setattr(enqueue, "_kick_after_commit", lambda: None)


def test_a_restored_dump_catches_up_from_the_chain_with_zero_drift(
    contracts, make_user, restore_target, no_worker_kicks, tmp_path: Path
):
    operator, _ = make_user("operator")

    # A few chain writes before the dump: two loans anchored, one of them repaid.
    early = [make_loan(actor=operator) for _ in range(2)]
    for loan in early:
        services.approve_loan(loan=loan, actor=operator)
    settle_outbox()
    services.request_repayment(loan=Loan.objects.get(pk=early[0].pk), actor=operator)
    settle_outbox()
    assert Loan.objects.get(pk=early[0].pk).status == LoanStatus.REPAID

    # N loans approved: their storeLoan intents are queued (committed) when the dump is taken.
    waiting = [make_loan(actor=operator) for _ in range(N)]
    for loan in waiting:
        services.approve_loan(loan=loan, actor=operator)
    assert set(Loan.objects.filter(pk__in=[x.pk for x in waiting]).values_list("status", flat=True)) == {
        LoanStatus.ANCHORING
    }

    settings_dict = connection.settings_dict
    pg_args, pg_env = _pg_env(settings_dict)
    dump = tmp_path / "ledgerbridge.dump"
    dumped = _run(["pg_dump", *pg_args, "-Fc", "-f", str(dump), settings_dict["NAME"]], env=pg_env)
    assert dumped.returncode == 0, dumped.stderr

    # After the dump: the N loans are anchored on chain (N writes through the outbox), and one loan
    # is created, approved and anchored that the dump never saw.
    settle_outbox()
    after_dump = make_loan(actor=operator)
    services.approve_loan(loan=after_dump, actor=operator)
    settle_outbox()
    anchored = {
        loan.loan_id: loan.anchored_tx_hash
        for loan in Loan.objects.filter(pk__in=[x.pk for x in waiting], status=LoanStatus.ANCHORED)
    }
    assert len(anchored) == N

    # Restore into a fresh database.
    created = _run(["createdb", *pg_args, restore_target], env=pg_env)
    assert created.returncode == 0, created.stderr
    restored = _run(
        [
            "pg_restore",
            *pg_args,
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "-d",
            restore_target,
            str(dump),
        ],
        env=pg_env,
    )
    assert restored.returncode == 0, restored.stderr
    restored_url = _database_url_for({**settings_dict, "NAME": restore_target})
    waiting_ids = sorted(anchored)

    def loans_in_restore() -> dict[str, tuple[str, str]]:
        with psycopg.connect(restored_url) as conn:
            rows = conn.execute(
                "SELECT loan_id, status, anchored_tx_hash FROM loans_loan WHERE loan_id = ANY(%s)",
                [[*waiting_ids, after_dump.loan_id]],
            ).fetchall()
        return {loan_id: (status, tx_hash) for loan_id, status, tx_hash in rows}

    # The restored database is the dump: the N loans still wait, the later loan does not exist.
    before = loans_in_restore()
    assert {before[i][0] for i in waiting_ids} == {LoanStatus.ANCHORING}
    assert after_dump.loan_id not in before

    # The operator's catch-up: index the chain since the dump's cursors, then reconcile.
    polled = _manage(restored_url, "poll_blockchain", "--once")
    assert polled.returncode == 0, polled.stderr[-3000:]
    reconciled = _manage(restored_url, "reconcile")
    assert reconciled.returncode == 0, reconciled.stdout[-3000:] + reconciled.stderr[-3000:]
    assert ", drift 0 " in reconciled.stdout

    caught_up = loans_in_restore()
    assert {i: caught_up[i] for i in waiting_ids} == {
        i: (LoanStatus.ANCHORED, anchored[i]) for i in waiting_ids
    }
    # Lost with the restore (only its rows knew it) — but its chain event is indexed, which is how the
    # runbook finds such loans.
    assert after_dump.loan_id not in caught_up
    with psycopg.connect(restored_url) as conn:
        (indexed,) = conn.execute(
            "SELECT count(*) FROM blockchain_chainevent WHERE event_name = 'LoanStored' "
            "AND removed = false AND args->>'loanId' = %s",
            [after_dump.loan_id],
        ).fetchone()
    assert indexed == 1

    # The restored outbox still holds the N storeLoan intents as queued. Sending them (what the beat
    # sweep does) fails on chain — the loans are stored already — and changes nothing that matters.
    drained = _manage(
        restored_url,
        "shell",
        "-c",
        "from tests.support.outbox import settle_outbox; settle_outbox()",
    )
    assert drained.returncode == 0, drained.stderr[-3000:]
    with psycopg.connect(restored_url) as conn:
        stale = conn.execute(
            "SELECT status, error_code FROM blockchain_chaintransaction WHERE kind = 'loans.store_loan' "
            "AND status <> 'confirmed'"
        ).fetchall()
    assert stale == [("failed", "LoanAlreadyStored")] * N
    assert {i: loans_in_restore()[i][0] for i in waiting_ids} == {i: LoanStatus.ANCHORED for i in waiting_ids}
    again = _manage(restored_url, "reconcile")
    assert again.returncode == 0 and ", drift 0 " in again.stdout, again.stdout[-3000:] + again.stderr[-3000:]
