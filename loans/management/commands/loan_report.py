from decimal import Decimal

from core.months import MonthlyReportCommand
from core.spreadsheet import SafeWriter
from loans.selectors import loan_operations

COLUMNS = [
    "loan_id",
    "operation",
    "status",
    "tx_hash",
    "block_number",
    "mined_at",
    "gas_used",
    "effective_gas_price_wei",
    "fee_wei",
    "fee_native",
]


class Command(MonthlyReportCommand):
    help = (
        "CSV of the loan transactions mined in a month (anchoring and repayment): tx hash, block, gas "
        "used and the fee paid for each. A summary goes to stderr."
    )

    def handle(self, *args, month: str, output: str | None, **opts) -> None:
        totals = {"anchor": 0, "repayment": 0, "failed": 0, "gas": 0, "fee_wei": 0}
        with self.month_csv(month=month, output=output) as (first_day, stream):
            writer = SafeWriter(stream)
            writer.writerow(COLUMNS)
            for op in loan_operations(month=first_day):
                writer.writerow(
                    [
                        op.loan_id,
                        op.operation,
                        op.status,
                        op.tx_hash,
                        op.block_number,
                        op.mined_at.isoformat() if op.mined_at else "",
                        op.gas_used,
                        op.effective_gas_price,
                        op.fee_wei,
                        f"{op.fee_native:f}",
                    ]
                )
                totals[op.operation] += op.status != "failed"
                totals["failed"] += op.status == "failed"
                totals["gas"] += op.gas_used
                totals["fee_wei"] += op.fee_wei
        self.stderr.write(
            f"{month}: {totals['anchor']} anchored, {totals['repayment']} repaid, "
            f"{totals['failed']} reverted; "
            f"gas {totals['gas']:,}, fees {Decimal(totals['fee_wei']).scaleb(-18):f} (native coin)"
        )
