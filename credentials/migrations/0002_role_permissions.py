from django.db import migrations

from accounts.roles import grant_role_permissions

VIEW_ALL = ["view_institution", "view_credential", "view_credentialbatch", "view_credentiallink"]


class Migration(migrations.Migration):
    dependencies = [
        ("credentials", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(
            grant_role_permissions(
                "operator", {"credentials": [*VIEW_ALL, "add_institution", "change_institution"]}
            ),
            migrations.RunPython.noop,
        ),
        migrations.RunPython(
            grant_role_permissions("compliance", {"credentials": VIEW_ALL}), migrations.RunPython.noop
        ),
    ]
