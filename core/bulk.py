"""Bulk row writes for the hot paths (sender, confirmer, indexer).

Django's `bulk_update` builds one CASE expression per field and row, which is slow for hundreds
of rows; one parametrized UPDATE sent with `executemany` (pipelined by psycopg 3) is not.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import DEFAULT_DB_ALIAS, connections, models


def bulk_set(model: type[models.Model], objs: Sequence[models.Model], fields: Sequence[str]) -> int:
    """UPDATE `fields` of every obj (by primary key) to the values the objects hold in memory."""
    if not objs:
        return 0
    # The connection itself, not the `django.db.connection` proxy: every attribute read through the
    # proxy is a context-local lookup, and preparing values costs several per field and row.
    connection = connections[DEFAULT_DB_ALIAS]
    meta = model._meta
    model_fields = [meta.get_field(name) for name in fields]
    assignments = ", ".join(f"{connection.ops.quote_name(f.column)} = %s" for f in model_fields)
    table = connection.ops.quote_name(meta.db_table)
    key = connection.ops.quote_name(meta.pk.column)
    # Identifiers come from the model's meta (quoted); every value is a bound parameter.
    sql = f"UPDATE {table} SET {assignments} WHERE {key} = %s"  # noqa: S608  # nosec B608
    params = [
        [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in model_fields] + [obj.pk]
        for obj in objs
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
    return len(objs)
