from django.core.management.base import CommandError

from blockchain.indexing.reconcile import reproject_all, run_reconcile
from core.commands import AuditedCommand


class Command(AuditedCommand):
    help = (
        "Compare the cached rows with the contracts' own views; print the drift report; exit 1 on any "
        "drift. --fix projects every entity again from the stored events (never a chain write), then "
        "checks again."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--fix",
            action="store_true",
            help="repair drift by projection from the stored events, then re-check",
        )

    def handle(self, *args, fix: bool = False, **opts) -> None:
        report = self._reconcile()
        if report.drift_count and fix:
            events = reproject_all()
            self.stdout.write(f"re-projected the entities of {events} stored events; checking again")
            report = self._reconcile()
        summary = f"checked {report.checked}, drift {report.drift_count} (report #{report.pk})"
        if report.drift_count:
            domains = sorted({item["check"] for item in report.drift})
            raise CommandError(f"{summary}; drift in: {', '.join(domains)}")
        self.stdout.write(self.style.SUCCESS(summary))

    def _reconcile(self):
        try:
            report = run_reconcile()
        except Exception as exc:
            raise CommandError(f"reconcile could not finish: {type(exc).__name__}: {exc}") from None
        for item in report.drift:
            self.stdout.write(
                f"  DRIFT {item['check']:<12} {item['key']}  cache={item['cache']!r}  chain={item['chain']!r}"
            )
        return report
