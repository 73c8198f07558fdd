"""`make run` with a DATABASE_URL naming a PostgreSQL database that does not exist yet: create it,
or say in one line what to run, instead of a migration traceback."""

from __future__ import annotations

import environ
import psycopg
from psycopg import sql

POSTGRES_ENGINES = {"django.db.backends.postgresql", "django.contrib.gis.db.backends.postgis"}


class DatabaseUnavailable(Exception):
    """The database cannot be used; the message is one line saying why and what to do."""


def _connect(config: dict, dbname: str) -> psycopg.Connection:
    return psycopg.connect(
        dbname=dbname,
        user=config.get("USER") or None,
        password=config.get("PASSWORD") or None,
        host=config.get("HOST") or None,
        port=config.get("PORT") or None,
        connect_timeout=5,
        autocommit=True,
    )


def ensure_database(url: str) -> str | None:
    """Make sure the PostgreSQL database `url` names exists. Returns a line to print when it was
    created, None when there was nothing to do; raises DatabaseUnavailable with one line otherwise."""
    config = environ.Env.db_url_config(url)
    if config.get("ENGINE") not in POSTGRES_ENGINES:
        return None
    name = config["NAME"]
    where = f"{config.get('HOST') or 'local socket'}:{config.get('PORT') or 5432}"
    try:
        _connect(config, name).close()
        return None
    except psycopg.OperationalError as exc:
        if "does not exist" not in str(exc) or f'"{name}"' not in str(exc):
            raise DatabaseUnavailable(
                f"cannot connect to PostgreSQL at {where} as {config.get('USER') or 'the current user'}: "
                f"{_first_line(exc)}. Start PostgreSQL or fix DATABASE_URL."
            ) from None
    try:
        with _connect(config, "postgres") as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        raise DatabaseUnavailable(
            f'database "{name}" does not exist and could not be created ({_first_line(exc)}): '
            f"run `createdb -h {config.get('HOST') or 'localhost'} {name}` as a user allowed to, then retry"
        ) from None
    return f'created database "{name}" on {where}'


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0].strip() if text else type(exc).__name__
