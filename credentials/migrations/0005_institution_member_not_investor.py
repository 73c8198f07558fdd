"""The database refuses an investor as an institution's member (members issue and revoke the
institution's credentials), whoever adds them: the API, the admin's member widget or a script.

Only new memberships are checked: one that predates this rule is left for an operator to remove.
Table names are Django's defaults for `accounts.User` and `Institution.members`, written out so the
SQL is a constant.
"""

from django.db import migrations

POSTGRESQL_FORWARD = """
CREATE OR REPLACE FUNCTION credentials_member_not_investor() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM accounts_user WHERE id = NEW.user_id AND role = 'investor') THEN
        RAISE EXCEPTION 'an investor cannot be a member of an institution'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER credentials_member_not_investor BEFORE INSERT OR UPDATE ON credentials_institution_members
    FOR EACH ROW EXECUTE FUNCTION credentials_member_not_investor();
"""
POSTGRESQL_BACKWARD = """
DROP TRIGGER IF EXISTS credentials_member_not_investor ON credentials_institution_members;
DROP FUNCTION IF EXISTS credentials_member_not_investor();
"""
SQLITE_FORWARD = [
    """
    CREATE TRIGGER credentials_member_not_investor_insert BEFORE INSERT ON credentials_institution_members
    WHEN (SELECT role FROM accounts_user WHERE id = NEW.user_id) = 'investor'
    BEGIN SELECT RAISE(ABORT, 'an investor cannot be a member of an institution'); END;
    """,
    """
    CREATE TRIGGER credentials_member_not_investor_update BEFORE UPDATE ON credentials_institution_members
    WHEN (SELECT role FROM accounts_user WHERE id = NEW.user_id) = 'investor'
    BEGIN SELECT RAISE(ABORT, 'an investor cannot be a member of an institution'); END;
    """,
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS credentials_member_not_investor_insert",
    "DROP TRIGGER IF EXISTS credentials_member_not_investor_update",
]


def _run(schema_editor, *, postgresql: str, sqlite: list[str]) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(postgresql)
    elif vendor == "sqlite":
        for statement in sqlite:
            schema_editor.execute(statement)


def forward(apps, schema_editor) -> None:
    _run(schema_editor, postgresql=POSTGRESQL_FORWARD, sqlite=SQLITE_FORWARD)


def backward(apps, schema_editor) -> None:
    _run(schema_editor, postgresql=POSTGRESQL_BACKWARD, sqlite=SQLITE_BACKWARD)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_user_token_generation"),
        ("credentials", "0004_credential_share_id_required"),
    ]

    operations = [migrations.RunPython(forward, backward)]
