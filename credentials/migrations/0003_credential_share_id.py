"""Every credential gets an unguessable share id (128 random bits): public verification goes by it,
a fingerprint, a document or a proof bundle, never by the sequential ids. Added nullable and filled
here; 0004 makes it required and unique."""

import secrets

from django.db import migrations, models


def _share_id() -> str:
    # As credentials.models.new_share_id, frozen here so the migration does not change with it.
    while True:
        share_id = secrets.token_urlsafe(16)
        if not share_id.isdigit():
            return share_id


def fill_share_ids(apps, schema_editor):
    Credential = apps.get_model("credentials", "Credential")
    batch = []
    for credential in Credential.objects.filter(share_id__isnull=True).only("pk").iterator(chunk_size=1000):
        credential.share_id = _share_id()
        batch.append(credential)
        if len(batch) == 1000:
            Credential.objects.bulk_update(batch, ["share_id"])
            batch = []
    Credential.objects.bulk_update(batch, ["share_id"])


class Migration(migrations.Migration):
    dependencies = [
        ("credentials", "0002_role_permissions"),
    ]

    operations = [
        migrations.AddField(
            model_name="credential",
            name="share_id",
            field=models.CharField(editable=False, max_length=22, null=True),
        ),
        migrations.RunPython(fill_share_ids, migrations.RunPython.noop),
    ]
