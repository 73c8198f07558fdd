from django.db import migrations

from accounts.roles import grant_role_permissions


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0005_certificates")]

    operations = [
        migrations.RunPython(
            grant_role_permissions("compliance", {"campaigns": ["view_sharecertificate"]}),
            migrations.RunPython.noop,
        ),
        migrations.RunPython(
            grant_role_permissions("operator", {"campaigns": ["view_sharecertificate"]}),
            migrations.RunPython.noop,
        ),
    ]
