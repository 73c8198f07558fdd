"""`manage.py seed_demo`: the demo world (devtools/demo_world.py) and its stable logins.

`make run` runs it after `deploy_contracts`, before the web and worker start. It lives in devtools,
which production does not install, so production cannot run it at all (and it refuses there anyway).
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import CommandError

from blockchain.chain.client import TRANSIENT_ERRORS
from core import clock
from core.commands import AuditedCommand
from devtools.chain_clock import ChainClockError, align
from devtools.demo_world import build_demo_world, logins_path


class Command(AuditedCommand):
    help = (
        "Build (or complete) the demo world: a KYC provider, an investor with wallet and KYC, an issuer "
        "with a registered company and an active campaign, a university with credentials (one batch), "
        "an anchored loan. Logins are made once and kept in VAR_DIR/demo-logins.txt. Idempotent."
    )

    def handle(self, *args, **opts) -> None:
        if settings.DJANGO_ENV == "production":
            raise CommandError("refusing to seed demo data in production")
        path = logins_path()
        try:
            if clock.follows_dev_offset() and settings.CHAIN_ID == settings.ANVIL_CHAIN_ID:
                self._align_clocks()  # only a dev chain's clock moves
            report = build_demo_world(path=path)
        except TRANSIENT_ERRORS:
            raise CommandError(
                "the chain node (CHAIN_RPC_URL) cannot be reached; start it and run seed_demo again"
            ) from None
        self.stdout.write(
            "Demo world ready." if report.complete else "Demo world incomplete: " + "; ".join(report.missing)
        )
        self.stdout.write(f"Demo logins, every role (stable; also in {path}):")
        for login, password in report.logins:
            # The superuser's password stays in the private file only (it can change anything).
            shown = f"(in {path.name})" if login.role == "admin" else password
            self.stdout.write(f"  {login.role:<12} {login.username:<17} {shown:<18} {login.purpose}")
        self.stdout.write(
            "  (what each was seeded with may have changed since: the API and the admin show it as it is now)"
        )

    def _align_clocks(self) -> None:
        """anvil forgets a moved clock when it reloads its state: agree with the platform first."""
        try:
            moved = align().moved
        except (ChainClockError, clock.ClockError) as exc:
            self.stderr.write(f"Clocks not aligned: {exc}")
            return
        if moved:
            self.stdout.write(f"Clocks aligned: {moved}.")
