"""What `make run` does before anything starts: a DATABASE_URL naming a missing database is created (or
one line says what to run), commands in other terminals find the platform's stores through a run.env
only this user can read, and the terminal stays quiet."""

from __future__ import annotations

import uuid
from urllib.parse import quote

import psycopg
import pytest
from django.db import connection

from devtools.database import DatabaseUnavailable, ensure_database
from devtools.processes import free_port
from devtools.run_platform import quiet_logging, write_run_env


def url_for(name: str, *, user: str | None = None, port: int | None = None) -> str:
    settings_dict = connection.settings_dict
    user = quote(user or settings_dict.get("USER") or "postgres")
    host = settings_dict.get("HOST") or "127.0.0.1"
    return f"postgres://{user}@{host}:{port or settings_dict.get('PORT') or 5432}/{name}"


def admin_execute(statement: str) -> None:
    settings_dict = connection.settings_dict
    with psycopg.connect(
        dbname="postgres",
        user=settings_dict.get("USER") or "postgres",
        host=settings_dict.get("HOST") or "127.0.0.1",
        port=settings_dict.get("PORT") or 5432,
        autocommit=True,
    ) as conn:
        conn.execute(statement)


@pytest.fixture
def missing_database():
    name = f"lb_run_{uuid.uuid4().hex[:10]}"
    yield name
    admin_execute(f'DROP DATABASE IF EXISTS "{name}"')


@pytest.mark.django_db
def test_a_missing_database_is_created_once(missing_database):
    assert ensure_database(url_for(missing_database)).startswith(f'created database "{missing_database}"')
    assert ensure_database(url_for(missing_database)) is None  # it exists now: nothing to do
    psycopg.connect(url_for(missing_database)).close()


@pytest.mark.django_db
def test_a_database_that_cannot_be_created_is_one_line_saying_what_to_run(missing_database):
    role = f"lb_nocreate_{uuid.uuid4().hex[:8]}"
    admin_execute(f'CREATE ROLE "{role}" LOGIN NOCREATEDB')
    try:
        with pytest.raises(DatabaseUnavailable) as refused:
            ensure_database(url_for(missing_database, user=role))
    finally:
        admin_execute(f'DROP ROLE "{role}"')
    message = str(refused.value)
    assert f'database "{missing_database}" does not exist and could not be created' in message
    assert "createdb -h" in message and missing_database in message
    assert "\n" not in message


def test_an_unreachable_server_is_one_line_naming_it():
    port = free_port()  # nothing listens there
    with pytest.raises(DatabaseUnavailable) as refused:
        ensure_database(f"postgres://postgres@127.0.0.1:{port}/anything")
    message = str(refused.value)
    assert message.startswith(f"cannot connect to PostgreSQL at 127.0.0.1:{port}")
    assert message.endswith("Start PostgreSQL or fix DATABASE_URL.") and "\n" not in message


def test_sqlite_needs_nothing(tmp_path):
    assert ensure_database(f"sqlite:///{tmp_path / 'db.sqlite3'}") is None


def test_run_env_names_the_stores_and_only_its_owner_reads_it(tmp_path):
    path = tmp_path / "run.env"
    env = {
        "CHAIN_RPC_URL": "http://127.0.0.1:8545",
        "REDIS_URL": "redis://:s3cret@127.0.0.1:6390/0",
        "SECRET_KEY": "not for other terminals",
    }
    write_run_env(path, env)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    lines = path.read_text().splitlines()
    assert (
        "CHAIN_RPC_URL=http://127.0.0.1:8545" in lines
        and "REDIS_URL=redis://:s3cret@127.0.0.1:6390/0" in lines
    )
    assert not any(line.startswith("SECRET_KEY") for line in lines)


def test_the_terminal_gets_warnings_and_the_log_directory_everything(tmp_path):
    env: dict[str, str] = {}
    quiet_logging(env, tmp_path)
    assert env["LOG_CONSOLE_LEVEL"] == "WARNING" and env["GUNICORN_LOG_LEVEL"] == "warning"
    assert env["LOG_FILE"] == str(tmp_path / "log" / "platform.log")
    assert env["GUNICORN_ACCESS_LOG"] == str(tmp_path / "log" / "access.log")
    chosen = {"LOG_CONSOLE_LEVEL": "INFO"}
    quiet_logging(chosen, tmp_path)
    assert chosen["LOG_CONSOLE_LEVEL"] == "INFO"  # a developer's own choice wins


def test_the_console_handler_can_be_quieter_than_the_file(tmp_path):
    from core.log_format import logging_config

    config = logging_config(
        level="INFO", json_lines=False, log_file=str(tmp_path / "p.log"), console_level="WARNING"
    )
    assert config["handlers"]["console"]["level"] == "WARNING"
    assert "level" not in config["handlers"]["file"] and config["root"]["level"] == "INFO"
    assert logging_config(level="INFO", json_lines=True)["handlers"]["console"]["level"] == "INFO"
