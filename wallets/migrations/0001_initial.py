# Balance comes over from the blockchain app (blockchain/migrations/0003): first Django's state takes
# the existing table as it is, then the table is renamed. No row is copied or lost.

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("blockchain", "0003_balance_moves_to_wallets"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Balance",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("chain_id", models.PositiveBigIntegerField()),
                        ("address", models.CharField(max_length=42)),
                        (
                            "asset",
                            models.CharField(
                                help_text="native, an ERC-20 symbol, or certificates", max_length=32
                            ),
                        ),
                        (
                            "amount",
                            models.DecimalField(decimal_places=0, help_text="base units", max_digits=78),
                        ),
                        ("block_number", models.PositiveBigIntegerField()),
                        ("stale", models.BooleanField(default=False)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                    ],
                    options={
                        "db_table": "blockchain_balance",
                        "ordering": ["address", "asset"],
                        "indexes": [models.Index(fields=["stale", "updated_at"], name="balance_refresh_idx")],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("chain_id", "address", "asset"), name="balance_unique"
                            ),
                            models.CheckConstraint(
                                condition=models.Q(("amount__gte", 0)), name="balance_not_negative"
                            ),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.AlterModelTable(name="balance", table=None),
    ]
