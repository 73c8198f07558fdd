from django.core.management.base import CommandError

from blockchain.indexing.reconcile import run_reconcile
from core.commands import AuditedCommand


class Command(AuditedCommand):
    help = "Compare the cached rows with the chain; print the drift report; exit 1 on any drift."

    def handle(self, *args, **opts) -> None:
        try:
            report = run_reconcile()
        except Exception as exc:
            raise CommandError(f"reconcile could not finish: {type(exc).__name__}: {exc}") from None
        for item in report.drift:
            self.stdout.write(
                f"  DRIFT {item['check']:<12} {item['key']}  cache={item['cache']!r}  chain={item['chain']!r}"
            )
        summary = f"checked {report.checked}, drift {report.drift_count} (report #{report.pk})"
        if report.drift_count:
            raise CommandError(summary)
        self.stdout.write(self.style.SUCCESS(summary))
