"""The share ids 0003 filled: required, unique, and of their format from now on."""

from django.db import migrations, models

import credentials.models


class Migration(migrations.Migration):
    dependencies = [
        ("credentials", "0003_credential_share_id"),
    ]

    operations = [
        migrations.AlterField(
            model_name="credential",
            name="share_id",
            field=models.CharField(
                default=credentials.models.new_share_id,
                editable=False,
                help_text="unguessable public handle for verification (the numeric ids are not public)",
                max_length=22,
                unique=True,
            ),
        ),
        migrations.AddConstraint(
            model_name="credential",
            constraint=models.CheckConstraint(
                condition=models.Q(("share_id__regex", "^[A-Za-z0-9_-]{22}$")),
                name="credential_share_id_format",
            ),
        ),
    ]
