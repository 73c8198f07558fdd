# The Balance model moved to the wallets app (wallets/migrations/0001_initial.py takes it over).
# Only Django's model state changes here: the table and its rows stay where they are.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("blockchain", "0002_balance"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Balance")],
            database_operations=[],
        ),
    ]
