from django.db import migrations

from accounts.roles import grant_role_permissions
from core.db import append_only

# Compliance officers and operators read the audit log (and export it); nobody may change it.
READ_AUDIT = {"audit": ["view_auditevent"]}


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        append_only("audit_auditevent"),
        migrations.RunPython(grant_role_permissions("compliance", READ_AUDIT), migrations.RunPython.noop),
        migrations.RunPython(grant_role_permissions("operator", READ_AUDIT), migrations.RunPython.noop),
    ]
