"""Model instances from rows of statements built once per process (the API's hottest reads).

The ORM builds and compiles a queryset's SQL on every request (≈ 0.3–1 ms for a wide SELECT with
joins, more than the statement itself takes). A read that runs thousands of times a second can
instead keep its SQL text, built once from the models' `_meta`, and turn each row back into the
instances the ORM would have built: `RowReader` does the second half, with the ORM's own value
converters (backend and field: e.g. a JSONField's text → Python), and `Model.from_db`, so a column
not read stays deferred exactly as with `.only()`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from django.db import connections, models


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

    def __len__(self) -> int:
        return len(self.fields)

    def columns(self, alias: str, table_alias: str) -> list[str]:
        quote = connections[alias].ops.quote_name
        return [f"{table_alias}.{quote(f.column)}" for f in self.fields]

    def _converters_for(self, alias: str) -> list:
        converters = self._converters.get(alias)
        if converters is None:
            connection = connections[alias]
            converters = []
            for field in self.fields:
                column = field.get_col(self.model._meta.db_table)
                chain = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
                converters.append((chain, column) if chain else None)
            self._converters[alias] = converters
        return converters

    def build(self, alias: str, values: Sequence) -> models.Model:
        """The instance of the row slice `values` (len(self) values, in `columns` order)."""
        connection = connections[alias]
        converted = list(values)
        for i, entry in enumerate(self._converters_for(alias)):
            if entry is not None:
                chain, column = entry
                for converter in chain:
                    converted[i] = converter(converted[i], column, connection)
        return self.model.from_db(alias, self.names, converted)


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
        self.reader = RowReader(model, names)
        unfit = [f.attname for f in self.reader.fields if not isinstance(f, self._JSON_NATIVE)]
        if unfit:
            raise ValueError(f"not carried by JSON as the ORM reads them: {unfit}")

    def column(self, alias: str, name: str) -> str:
        """`t.<column>` of the field `name` inside the subquery (its table's alias is `t`)."""
        return f"t.{connections[alias].ops.quote_name(self.reader.model._meta.get_field(name).column)}"

    def sql(self, alias: str, *, where: str) -> str:
        """The subquery; `where` selects the rows (with `column()`, placeholders and outer aliases)."""
        quote = connections[alias].ops.quote_name
        columns = ", ".join(self.reader.columns(alias, "t"))
        table = quote(self.reader.model._meta.db_table)
        # Names come from _meta, quoted; `where` is the caller's SQL text, never input.
        return (
            f"(SELECT json_agg(json_build_array({columns}))::text "  # noqa: S608  # nosec B608
            f"FROM {table} t WHERE {where})"
        )

    def build(self, alias: str, aggregated: str | None) -> list[models.Model]:
        if aggregated is None:
            return []
        model, names = self.reader.model, self.reader.names
        return [model.from_db(alias, names, values) for values in json.loads(aggregated)]
