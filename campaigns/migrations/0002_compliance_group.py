from django.db import migrations

from accounts.roles import grant_role_permissions

# What a compliance officer does in the admin: review companies and campaigns (change), read
# everything else. No delete anywhere; reviews are written by the review actions only.
COMPLIANCE_PERMISSIONS = {
    "issuers": ["view_company", "change_company", "view_compliancereview"],
    "campaigns": ["view_campaign", "change_campaign"],
    "loans": ["view_loan", "view_loanhistoryentry", "view_loanverificationreport"],
    "blockchain": [
        "view_chaintransaction",
        "view_txattempt",
        "view_chainevent",
        "view_chainsyncstate",
        "view_reorgrecord",
        "view_reconcilereport",
    ],
}
OPERATOR_PERMISSIONS = {
    "issuers": ["view_company", "view_compliancereview"],
    "campaigns": ["view_campaign"],
}


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0001_initial"),
        ("issuers", "0001_initial"),
        ("loans", "0002_operator_group"),
        ("blockchain", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(
            grant_role_permissions("compliance", COMPLIANCE_PERMISSIONS), migrations.RunPython.noop
        ),
        migrations.RunPython(
            grant_role_permissions("operator", OPERATOR_PERMISSIONS), migrations.RunPython.noop
        ),
    ]
