from django.conf import settings
from django.core.management.base import CommandError
from django.db import transaction

from accounts import services
from accounts.models import STAFF_ROLES, Role, User
from core.commands import AuditedCommand


class Command(AuditedCommand):
    help = "Create (or reset) one demo user per role plus a demo superuser, and print their logins."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--force", action="store_true", help="allow running with DJANGO_ENV=production")

    def handle(self, *args, force: bool, **opts) -> None:
        if settings.DJANGO_ENV == "production" and not force:
            raise CommandError(
                "refusing to seed demo users in production (use --force if you really mean it)"
            )
        logins: list[tuple[str, str, str]] = []
        with transaction.atomic():
            for role in [*Role.values, "admin"]:
                username = f"demo_{role}"
                password = services.generate_password()
                user = User.objects.filter(username=username).first()
                if user is None:
                    user = services.create_user(
                        username=username,
                        role=Role.OPERATOR if role == "admin" else role,
                        email=f"{username}@demo.invalid",
                        password=password,
                        validate=False,
                    )
                else:
                    user.set_password(password)
                user.is_staff = role == "admin" or role in STAFF_ROLES
                user.is_superuser = role == "admin"
                user.save()
                logins.append((role, username, password))
        self.stdout.write("Demo logins (passwords are reset on every run):")
        for role, username, password in logins:
            self.stdout.write(f"  {role:<12} {username:<18} {password}")
