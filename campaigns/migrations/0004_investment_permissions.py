from django.db import migrations

from accounts.roles import grant_role_permissions


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0003_investment_and_aml")]

    operations = [
        migrations.RunPython(
            grant_role_permissions(
                "compliance",
                {
                    "campaigns": [
                        "view_investment",
                        "change_investment",
                        "view_amlalert",
                        *(f"{a}_sanctionedwallet" for a in ("view", "add", "change", "delete")),
                        *(f"{a}_countryrestriction" for a in ("view", "add", "change", "delete")),
                    ]
                },
            ),
            migrations.RunPython.noop,
        ),
        migrations.RunPython(
            grant_role_permissions("operator", {"campaigns": ["view_investment", "view_amlalert"]}),
            migrations.RunPython.noop,
        ),
    ]
