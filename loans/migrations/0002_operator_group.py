from django.db import migrations

from accounts.roles import grant_role_permissions

OPERATOR_PERMISSIONS = {
    "loans": [
        "view_loan",
        "add_loan",
        "change_loan",
        "view_loanhistoryentry",
        "view_loanverificationreport",
    ],
    "blockchain": [
        "view_chaintransaction",
        "view_txattempt",
        "view_chainevent",
        "view_contractdeployment",
        "view_watchedcontract",
        "view_nonceaccount",
        "view_chainsyncstate",
        "view_reorgrecord",
        "view_reconcilereport",
    ],
}


class Migration(migrations.Migration):
    dependencies = [
        ("loans", "0001_initial"),
        ("blockchain", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(
            grant_role_permissions("operator", OPERATOR_PERMISSIONS), migrations.RunPython.noop
        ),
    ]
