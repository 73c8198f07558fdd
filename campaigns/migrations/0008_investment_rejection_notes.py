"""Rejection reasons become a fixed customer-facing list (no tipping off): the free text an officer
(or the sanctions screening) wrote into `rejection_reason` moves to the staff-only `rejection_notes`,
and the investor is told the generic `other`. 0009 then narrows the column to the list."""

from django.db import migrations, models

LISTED = {"not_eligible", "limit_exceeded", "documents_required", "jurisdiction", "campaign_closed", "other"}


def move_free_text(apps, schema_editor):
    Investment = apps.get_model("campaigns", "Investment")
    rows = Investment.objects.exclude(rejection_reason="").exclude(rejection_reason__in=LISTED)
    for investment in rows.only("pk", "rejection_reason", "rejection_notes").iterator(chunk_size=1000):
        investment.rejection_notes = investment.rejection_reason
        investment.rejection_reason = "other"
        investment.save(update_fields=["rejection_reason", "rejection_notes"])
    Investment.objects.filter(status="rejected", rejection_reason="").update(rejection_reason="other")


def restore_free_text(apps, schema_editor):
    Investment = apps.get_model("campaigns", "Investment")
    for investment in Investment.objects.exclude(rejection_notes="").iterator(chunk_size=1000):
        investment.rejection_reason = investment.rejection_notes
        investment.save(update_fields=["rejection_reason"])


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0007_drop_newest_position_guards"),
    ]

    operations = [
        migrations.AddField(
            model_name="investment",
            name="rejection_notes",
            field=models.TextField(
                blank=True,
                default="",
                help_text="staff-only: the officer's or the screening's words behind a rejection",
            ),
        ),
        migrations.RunPython(move_free_text, restore_free_text),
    ]
