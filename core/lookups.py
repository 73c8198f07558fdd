"""`field__anyof=[...]`: membership in a list sent as ONE array parameter on PostgreSQL
(`col = ANY(%s)`), where `__in` sends one placeholder per value. The projections look up thousands of
keys per indexed range; thousands of placeholders cost more to build, send and plan than the lookup
itself. Elsewhere (SQLite in `make run` without PostgreSQL) it is `__in`."""

from __future__ import annotations

from django.core.exceptions import EmptyResultSet
from django.db import models
from django.db.models.lookups import In


class AnyOf(In):
    lookup_name = "anyof"

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = [
            self.lhs.output_field.get_db_prep_value(value, connection, prepared=False)
            for value in self.rhs
            if value is not None
        ]
        if not values:
            raise EmptyResultSet
        return f"{lhs} = ANY(%s)", (*lhs_params, values)


def register() -> None:
    for field in (
        models.CharField,
        models.IntegerField,
        models.BigIntegerField,
        models.PositiveBigIntegerField,
    ):
        field.register_lookup(AnyOf)
