"""When a company's owner proved its wallet (security issue #20, item 5). Existing rows stay empty:
their wallets were never proven, so no KYB credential is linked to them from now on."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("issuers", "0002_append_only_reviews"),
    ]

    operations = [
        migrations.AddField(
            model_name="company",
            name="wallet_proven_at",
            field=models.DateTimeField(
                blank=True,
                help_text="when the owner proved the wallet (EIP-4361 signature); empty for rows made before proofs",
                null=True,
            ),
        ),
    ]
