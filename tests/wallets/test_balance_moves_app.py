"""The Balance model moved from the blockchain app to wallets: the migration keeps every row."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("blockchain", "0002_balance"), ("wallets", None)]


def migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def latest_targets() -> list[tuple[str, str]]:
    executor = MigrationExecutor(connection)
    return [key for key in executor.loader.graph.leaf_nodes() if key[0] in ("blockchain", "wallets")]


def test_rows_written_before_the_move_are_read_by_the_wallets_model_after_it():
    migrate(BEFORE)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO blockchain_balance (chain_id, address, asset, amount, block_number, stale, "
                "updated_at) VALUES (31337, %s, 'native', 12345, 7, false, now())",
                ["0x70997970C51812dc3A010C7d01b50e0d17dc79C8"],
            )
    finally:
        migrate(latest_targets())
    from wallets.models import Balance

    row = Balance.objects.get(address="0x70997970C51812dc3A010C7d01b50e0d17dc79C8", asset="native")
    assert (row.amount, row.block_number, row.stale) == (12345, 7, False)
    assert Balance._meta.db_table == "wallets_balance"
    tables = connection.introspection.table_names()
    assert "wallets_balance" in tables and "blockchain_balance" not in tables
    # The constraints came along with the table: the unique key still refuses a duplicate.
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Balance.objects.create(chain_id=31337, address=row.address, asset="native", amount=1, block_number=8)
