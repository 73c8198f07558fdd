from django.core.management.base import CommandError
from tqdm import tqdm

from core.api import ChainUnavailable
from core.commands import AuditedCommand
from loans.models import Loan, VerificationScope
from loans.services import sample_for_verification, verify_loans


class Command(AuditedCommand):
    help = (
        "Recompute every selected loan's hash from the database and compare it, and its repayment, "
        "with the chain (getLoan). Stores an audit report; exits 1 when any loan is mismatched."
    )

    def add_arguments(self, parser) -> None:
        scope = parser.add_mutually_exclusive_group()
        scope.add_argument("--sample", type=int, metavar="N", help="N random non-draft loans (default 100)")
        scope.add_argument("--all", action="store_true", help="every loan, drafts included")
        scope.add_argument("--loan", action="append", metavar="LOAN_ID", help="these loans (repeatable)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, sample: int | None, all: bool, loan: list[str] | None, no_progress: bool, **opts):
        if all:
            loans, scope, requested = Loan.objects.all(), VerificationScope.ALL, Loan.objects.count()
        elif loan:
            loans, scope, requested = (
                Loan.objects.filter(loan_id__in=loan),
                VerificationScope.SELECTED,
                len(loan),
            )
            missing = set(loan) - set(loans.values_list("loan_id", flat=True))
            if missing:
                raise CommandError(f"no such loan: {', '.join(sorted(missing))}")
        else:
            size = 100 if sample is None else sample
            if size < 1:
                raise CommandError("--sample must be at least 1")
            loans, scope, requested = sample_for_verification(size), VerificationScope.SAMPLE, size
        total = loans.count()
        bar = tqdm(total=total, unit="loan", disable=no_progress, file=self.stderr)
        try:
            report = verify_loans(
                loans=loans,
                scope=scope,
                requested=requested,
                triggered_by="manage.py verify_loans",
                progress=bar.update,
            )
        except ChainUnavailable as exc:
            raise CommandError(exc.message) from None
        finally:
            bar.close()
        for item in report.mismatches:
            self.stdout.write(f"  MISMATCH {item['loan_id']}: {'; '.join(item['problems'])}")
            self.stdout.write(f"           db {item['db_hash']}  chain {item['chain_hash']}")
        summary = (
            f"checked {report.checked} at block {report.block_number}: {report.matched} matched, "
            f"{report.mismatched} mismatched, {report.not_anchored} not anchored (report #{report.pk})"
        )
        if report.mismatched:
            raise CommandError(summary)
        self.stdout.write(self.style.SUCCESS(summary))
