"""Database-level guarantees that migrations install (PostgreSQL in production; SQLite for `make run`
without PostgreSQL)."""

from __future__ import annotations

from django.db import migrations


def append_only(table: str) -> migrations.RunPython:
    """A migration operation: the database refuses UPDATE and DELETE on `table` (audit rows)."""
    trigger = f"{table}_append_only"

    def forward(apps, schema_editor) -> None:
        vendor = schema_editor.connection.vendor
        if vendor == "postgresql":
            schema_editor.execute(
                f"""
                CREATE OR REPLACE FUNCTION {trigger}() RETURNS trigger AS $$
                BEGIN
                    RAISE EXCEPTION '{table} is append-only: %% refused', TG_OP
                        USING ERRCODE = 'insufficient_privilege';
                END;
                $$ LANGUAGE plpgsql;
                CREATE TRIGGER {trigger} BEFORE UPDATE OR DELETE ON {table}
                    FOR EACH ROW EXECUTE FUNCTION {trigger}();
                """
            )
        elif vendor == "sqlite":
            for operation in ("UPDATE", "DELETE"):
                schema_editor.execute(
                    f"CREATE TRIGGER {trigger}_{operation.lower()} BEFORE {operation} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END;"
                )

    def backward(apps, schema_editor) -> None:
        vendor = schema_editor.connection.vendor
        if vendor == "postgresql":
            schema_editor.execute(
                f"DROP TRIGGER IF EXISTS {trigger} ON {table}; DROP FUNCTION IF EXISTS {trigger}();"
            )
        elif vendor == "sqlite":
            for operation in ("update", "delete"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger}_{operation}")

    return migrations.RunPython(forward, backward)
