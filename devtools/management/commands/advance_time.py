"""`manage.py advance_time --days 22`: move the dev chain's clock and the platform's forward together.

Development only. The chain's clock moves with `evm_increaseTime` and a mined block; the platform's
notion of now (core.clock) follows it, so rules that compare with chain time (campaign deadlines,
the minimum run, the early-close floor) see the same moment. That is how a demo shows close →
finalize → certificates without waiting three weeks. Time never goes backwards.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.management.base import CommandError

from blockchain.chain.client import TRANSIENT_ERRORS, RpcError
from core import clock
from core.commands import AuditedCommand
from devtools.chain_clock import ChainClockError, advance, describe


class Command(AuditedCommand):
    help = (
        "Development only: move the dev chain's clock (evm_increaseTime + a mined block) and the "
        "platform's clock forward together, e.g. --days 22 to let a campaign close early."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--days", type=float, default=0.0, help="days to move forward")
        parser.add_argument("--hours", type=float, default=0.0, help="hours to move forward")

    def handle(self, *args, days: float, hours: float, **opts) -> None:
        if settings.DJANGO_ENV != "development":
            raise CommandError(
                "advance_time moves the dev chain's clock: development only "
                f"(DJANGO_ENV={settings.DJANGO_ENV})"
            )
        seconds = int(timedelta(days=days, hours=hours).total_seconds())
        if seconds <= 0:
            raise CommandError("time only moves forward: give --days or --hours above zero")
        try:
            clocks = advance(seconds=seconds)
        except (clock.ClockError, ChainClockError) as exc:
            raise CommandError(str(exc)) from None
        except RpcError as exc:
            raise CommandError(f"the node refused to move its clock: {exc.message}") from None
        except TRANSIENT_ERRORS:
            raise CommandError("the chain node (CHAIN_RPC_URL) cannot be reached") from None
        self.stdout.write(
            f"{clocks.moved.capitalize()}.\n"
            f"  chain:    block {clocks.block_number} at {clocks.block_time:%Y-%m-%d %H:%M:%S} UTC\n"
            f"  platform: now {clock.now():%Y-%m-%d %H:%M:%S} UTC "
            f"({describe(int(clocks.platform_offset.total_seconds()))} ahead of the wall clock)\n"
            "Campaigns past their end are closed by the beat within a minute; early closes follow "
            f"the {settings.CAMPAIGN_MIN_RUN_DAYS}-day floor."
        )
