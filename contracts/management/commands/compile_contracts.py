import time

from django.core.management.base import BaseCommand, CommandError

from contracts.compiler import CompilationError, compile_all, stale_artifacts


class Command(BaseCommand):
    help = "Compile contracts/src into contracts/build/<Name>.json; --check fails if artifacts are stale."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--check", action="store_true", help="exit non-zero when a source changed since the build"
        )

    def handle(self, *args, check: bool, **opts) -> None:
        if check:
            stale = stale_artifacts()
            if stale:
                raise CommandError(
                    "contract artifacts are stale (run `python manage.py compile_contracts`): "
                    + ", ".join(stale)
                )
            self.stdout.write(self.style.SUCCESS("contract artifacts match their sources"))
            return
        started = time.perf_counter()
        try:
            result = compile_all()
        except CompilationError as exc:
            raise CommandError(f"compilation failed:\n{exc}") from None
        self.stdout.write(
            self.style.SUCCESS(
                f"compiled {len(result.written)} contracts with {result.compiler} in "
                f"{time.perf_counter() - started:.1f}s: {', '.join(result.written)}"
            )
        )
