"""Model instances from rows of statements built once per process (the API's hottest reads).

The ORM builds and compiles a queryset's SQL on every request (≈ 0.3–1 ms for a wide SELECT with
joins, more than the statement itself takes). A read that runs thousands of times a second can
instead keep its SQL text, built once from the models' `_meta`, and turn each row back into the
instances the ORM would have built: `RowReader` does the second half, with the ORM's own value
converters (backend and field: e.g. a JSONField's text → Python), and what `Model.from_db` gives
(the values stored directly when nothing can tell the difference), so a column not read stays
deferred exactly as with `.only()`.

Such a statement is also worth preparing: PostgreSQL plans a three-table SELECT with JSON subqueries in
≈ 0.25 ms and runs it in 0.05 ms. `prepared_cursor` gives a cursor whose statements the server plans
once per connection (psycopg's server-side binding; the ORM's own cursors keep client-side binding,
which never prepares, so only statements run through it are kept on the server).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager

from django.db import connections, models
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init


class _PreparedDebugCursor(CursorDebugWrapper):
    """The debug log (`connection.queries`, CaptureQueriesContext, the SQL log) of a prepared run: the
    statement with its parameters inlined, as Django logs a server-side-binding statement (psycopg
    keeps no query text on the cursor for a prepared run, so Django's own lookup finds none)."""

    def execute(self, sql, params=None):
        from django.db.backends.postgresql.psycopg_any import errors

        try:
            shown = self.db.ops.compose_sql(sql, params)
        except errors.DataError:  # as Django's last_executed_query: a value psycopg cannot inline
            shown = sql
        with self.debug_sql(shown, params):
            return CursorWrapper.execute(self, sql, params)


@contextmanager
def prepared_cursor(alias: str) -> Iterator[CursorWrapper]:
    """`connections[alias].cursor()`, except that on PostgreSQL (psycopg 3) its statements are sent
    with server-side binding, so the server prepares each one the first time a connection runs it
    (`DB_PREPARED_STATEMENTS`, on by default; off, e.g. behind a pooler that cannot keep prepared
    statements, they are bound and planned on every execution). Django's wrapper is kept: health
    checks, error wrapping, execute wrappers and the debug log of statements apply as to any cursor."""
    connection = connections[alias]
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
        return
    from django.db.backends.postgresql.base import ServerBindingCursor

    # What BaseDatabaseWrapper.cursor() does, with another psycopg cursor class.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    with connection.wrap_database_errors:
        raw = ServerBindingCursor(connection.connection)
    cursor = (
        _PreparedDebugCursor(raw, connection) if connection.queries_logged else connection.make_cursor(raw)
    )
    with cursor:
        yield cursor


class RowReader:
    """Reads `names` (attnames of `model`'s concrete fields, any order given) from a slice of a row
    into an instance. `columns(prefix)` is the SELECT list for them, in the order `build` expects."""

    def __init__(self, model: type[models.Model], names: Iterable[str]) -> None:
        wanted = set(names)
        self.model = model
        # Model.from_db takes a partial row in concrete-field order
        self.fields = [f for f in model._meta.concrete_fields if f.attname in wanted]
        missing = wanted - {f.attname for f in self.fields}
        if missing:
            raise ValueError(f"{model.__name__} has no concrete fields {sorted(missing)}")
        self.names = [f.attname for f in self.fields]
        self._converters: dict[str, list] = {}
        self._stores_plainly = _stores_plainly(model)

    def _instantiate(self, alias: str) -> Callable[[list], models.Model]:
        """What `Model.from_db` gives, without its generic path when nothing can tell the difference.

        `from_db` pads the row with DEFERRED (looking each field name up in a list) and `__init__`
        sets every value through the class's descriptor and sends `pre_init` and `post_init`; for a
        20-row page of two models that was ≈ 0.5 ms. When the model keeps Django's own `__init__`
        and `from_db`, every column's descriptor only stores the value in the instance's __dict__
        on a new instance (Django's DeferredAttribute and ForeignKeyDeferredAttribute), and no
        receiver listens to either signal for it (asked each time a read starts: receivers can
        connect at any time), storing the values is all `from_db` would do. Otherwise it is
        `from_db` itself."""
        model, names = self.model, self.names
        if not self._stores_plainly or pre_init.has_listeners(model) or post_init.has_listeners(model):
            return lambda values: model.from_db(alias, names, values)
        new_instance = model.__new__

        def instantiate(values: list) -> models.Model:
            new = new_instance(model)
            state = ModelState()
            state.adding = False
            state.db = alias
            new._state = state
            new.__dict__.update(zip(names, values, strict=True))
            return new

        return instantiate

    def __len__(self) -> int:
        return len(self.fields)

    def columns(self, alias: str, table_alias: str) -> list[str]:
        quote = connections[alias].ops.quote_name
        return [f"{table_alias}.{quote(f.column)}" for f in self.fields]

    def _converters_for(self, alias: str) -> list:
        """(position, converter chain, column) of each value that has converters, built once."""
        converters = self._converters.get(alias)
        if converters is None:
            connection = connections[alias]
            converters = []
            for i, field in enumerate(self.fields):
                column = field.get_col(self.model._meta.db_table)
                chain = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
                if chain:
                    converters.append((i, chain, column))
            self._converters[alias] = converters
        return converters

    def reader(self, alias: str) -> Callable[[Sequence], models.Model]:
        """`build` for `alias`, with the connection, converters and way of instantiating looked up
        once (a page reads many rows)."""
        connection = connections[alias]
        converters = self._converters_for(alias)
        instantiate = self._instantiate(alias)

        def read(values: Sequence) -> models.Model:
            converted = list(values)
            for i, chain, column in converters:
                for converter in chain:
                    converted[i] = converter(converted[i], column, connection)
            return instantiate(converted)

        return read

    def build(self, alias: str, values: Sequence) -> models.Model:
        """The instance of the row slice `values` (len(self) values, in `columns` order)."""
        return self.reader(alias)(values)


def _stores_plainly(model: type[models.Model]) -> bool:
    """Does building `model` from a row come down to storing the values (see RowReader._instantiate)?"""
    if (
        model.__init__ is not models.Model.__init__
        or model.from_db.__func__ is not models.Model.from_db.__func__
    ):
        return False
    plain = (DeferredAttribute, ForeignKeyDeferredAttribute)
    return all(
        type(inspect.getattr_static(model, f.attname, None)) in plain for f in model._meta.concrete_fields
    )


class JsonRows:
    """Rows of `model` (`names`) that belong to each row of an outer statement, read in that statement
    as one column: a scalar subquery aggregating them into JSON text (PostgreSQL's json_agg; NULL
    when there are none). `build` turns the column back into instances (no converter applies: the
    values come out of JSON, the way the ORM's converters would have given them for the model's
    JSON, text and number columns; not for dates, decimals or binary columns, which it refuses)."""

    _JSON_NATIVE = (
        models.AutoField,
        models.BigAutoField,
        models.IntegerField,
        models.CharField,
        models.TextField,
        models.BooleanField,
        models.JSONField,
        models.ForeignKey,
    )

    def __init__(self, model: type[models.Model], names: Iterable[str]) -> None:
        self.row = RowReader(model, names)
        unfit = [f.attname for f in self.row.fields if not isinstance(f, self._JSON_NATIVE)]
        if unfit:
            raise ValueError(f"not carried by JSON as the ORM reads them: {unfit}")

    def column(self, alias: str, name: str) -> str:
        """`t.<column>` of the field `name` inside the subquery (its table's alias is `t`)."""
        return f"t.{connections[alias].ops.quote_name(self.row.model._meta.get_field(name).column)}"

    def sql(self, alias: str, *, where: str) -> str:
        """The subquery; `where` selects the rows (with `column()`, placeholders and outer aliases)."""
        quote = connections[alias].ops.quote_name
        columns = ", ".join(self.row.columns(alias, "t"))
        table = quote(self.row.model._meta.db_table)
        # Names come from _meta, quoted; `where` is the caller's SQL text, never input.
        return (
            f"(SELECT json_agg(json_build_array({columns}))::text "  # noqa: S608  # nosec B608
            f"FROM {table} t WHERE {where})"
        )

    def reader(self, alias: str) -> Callable[[str | None], list[models.Model]]:
        """`build` for `alias`, with the way of instantiating looked up once."""
        instantiate = self.row._instantiate(alias)

        def read(aggregated: str | None) -> list[models.Model]:
            return [] if aggregated is None else [instantiate(values) for values in json.loads(aggregated)]

        return read

    def build(self, alias: str, aggregated: str | None) -> list[models.Model]:
        return self.reader(alias)(aggregated)
