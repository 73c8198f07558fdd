import sys

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from accounts import services
from accounts.models import Role
from core.api import DomainError
from core.commands import AuditedCommand


class Command(AuditedCommand):
    help = "Create a user of any role. Without --password-stdin a random password is generated and printed."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--password-stdin", action="store_true", help="read the password from standard input"
        )
        parser.add_argument("--superuser", action="store_true", help="also grant Django superuser rights")

    def handle(
        self, *args, username: str, role: str, email: str, password_stdin: bool, superuser: bool, **opts
    ):
        generated = not password_stdin
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
            if not password:
                raise CommandError("no password on standard input")
        else:
            password = services.generate_password()
        try:
            user = services.create_user(username=username, role=role, email=email, password=password)
        except ValidationError as exc:
            raise CommandError("password rejected: " + " ".join(exc.messages)) from None
        except DomainError as exc:
            raise CommandError(exc.message) from None
        if superuser:
            user.is_superuser = user.is_staff = True
            user.save(update_fields=["is_superuser", "is_staff"])
        self.stdout.write(self.style.SUCCESS(f"created {role} {username} (id {user.pk})"))
        if generated:
            self.stdout.write(f"password: {password}")
