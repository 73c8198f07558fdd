import csv

from django.core.management.base import BaseCommand, CommandError

from campaigns.selectors import compliance_rows
from config.months import parse_month

COLUMNS = [
    "investment_id",
    "created_at",
    "campaign_id",
    "campaign",
    "investor",
    "wallet",
    "amount",
    "status",
    "aml_alerts",
    "decisions",
    "record_tx",
    "cancel_tx",
    "rejection_reason",
]


class Command(BaseCommand):
    help = (
        "CSV of a month's investments with their AML alerts, compliance decisions and on-chain transactions."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--month", required=True, metavar="YYYY-MM")
        parser.add_argument("--output", metavar="FILE", help="write here instead of stdout")

    def handle(self, *args, month: str, output: str | None, **opts) -> None:
        try:
            first_day = parse_month(month)
        except ValueError:
            raise CommandError(f"--month must be YYYY-MM, not {month!r}") from None
        stream = open(output, "w", newline="", encoding="utf-8") if output else self.stdout  # noqa: SIM115
        counts = {"investments": 0, "alerted": 0, "decided": 0}
        try:
            writer = csv.DictWriter(stream, fieldnames=COLUMNS)
            writer.writeheader()
            for row in compliance_rows(month=first_day):
                writer.writerow(row)
                counts["investments"] += 1
                counts["alerted"] += bool(row["aml_alerts"])
                counts["decided"] += bool(row["decisions"])
        finally:
            if output:
                stream.close()
        self.stderr.write(
            f"{month}: {counts['investments']} investments, {counts['alerted']} with AML alerts, "
            f"{counts['decided']} with compliance decisions"
        )
