"""`rejection_reason` holds only a code of the customer-facing list (0008 moved the free text out)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0008_investment_rejection_notes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="investment",
            name="rejection_reason",
            field=models.CharField(
                blank=True,
                choices=[
                    ("not_eligible", "The investment does not meet the campaign's eligibility requirements."),
                    ("limit_exceeded", "The investment is above a limit that applies to you."),
                    (
                        "documents_required",
                        "We need further documents from you before we can accept this investment.",
                    ),
                    ("jurisdiction", "Investments from your country cannot be accepted for this campaign."),
                    ("campaign_closed", "The campaign closed before the investment could be accepted."),
                    ("other", "We cannot accept this investment."),
                ],
                default="",
                help_text="what the investor is told (a fixed list)",
                max_length=32,
            ),
        ),
        migrations.AddConstraint(
            model_name="investment",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("rejection_reason", ""),
                    (
                        "rejection_reason__in",
                        [
                            "not_eligible",
                            "limit_exceeded",
                            "documents_required",
                            "jurisdiction",
                            "campaign_closed",
                            "other",
                        ],
                    ),
                    _connector="OR",
                ),
                name="investment_rejection_reason_listed",
            ),
        ),
        migrations.AddConstraint(
            model_name="investment",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("status", "rejected"), _negated=True),
                    models.Q(("rejection_reason", ""), _negated=True),
                    _connector="OR",
                ),
                name="rejected_investment_has_reason",
            ),
        ),
    ]
