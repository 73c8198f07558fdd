from campaigns.selectors import compliance_rows
from core.months import MonthlyReportCommand
from core.spreadsheet import SafeDictWriter

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
    "rejection_notes",
]


class Command(MonthlyReportCommand):
    help = (
        "CSV of a month's investments with their AML alerts, compliance decisions and on-chain transactions."
    )

    def handle(self, *args, month: str, output: str | None, **opts) -> None:
        counts = {"investments": 0, "alerted": 0, "decided": 0}
        with self.month_csv(month=month, output=output) as (first_day, stream):
            writer = SafeDictWriter(stream, fieldnames=COLUMNS)
            writer.writeheader()
            for row in compliance_rows(month=first_day):
                writer.writerow(row)
                counts["investments"] += 1
                counts["alerted"] += bool(row["aml_alerts"])
                counts["decided"] += bool(row["decisions"])
        self.stderr.write(
            f"{month}: {counts['investments']} investments, {counts['alerted']} with AML alerts, "
            f"{counts['decided']} with compliance decisions"
        )
