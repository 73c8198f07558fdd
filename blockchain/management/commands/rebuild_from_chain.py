from django.core.management.base import CommandError
from tqdm import tqdm

from blockchain.indexing.rebuild import IndexerBusy, rebuild_from_chain
from core.commands import AuditedCommand


class Command(AuditedCommand):
    help = (
        "Delete every chain-derived row (events, cursors, domain caches) and replay the logs from the "
        "deployment blocks. The outbox (intents) is kept."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, no_progress: bool, **opts) -> None:
        bars: list[tqdm] = []

        def progress_factory(start: int, head: int):
            bar = tqdm(total=max(0, head - start + 1), unit="block", disable=no_progress, file=self.stderr)
            bars.append(bar)
            done = {"to": start - 1}

            def progress(report) -> None:
                bar.update(report.to_block - done["to"])
                bar.set_postfix(events=report.events)
                done["to"] = report.to_block

            return progress

        try:
            report = rebuild_from_chain(say=self.stdout.write, progress_factory=progress_factory)
        except IndexerBusy as exc:
            raise CommandError(str(exc)) from None
        finally:
            for bar in bars:
                bar.close()
        self.stdout.write(
            self.style.SUCCESS(
                f"replayed {report.events} events from blocks {report.from_block}..{report.to_block} in "
                f"{report.seconds:.1f}s ({report.events_per_second:,.0f} events/s)"
            )
        )
