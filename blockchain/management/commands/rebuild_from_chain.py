from django.core.management.base import CommandError
from django.db import transaction
from tqdm import tqdm

from audit.commands import AuditedCommand
from blockchain.indexer import INDEXER_LOCK, Indexer
from blockchain.models import ChainEvent, ChainSyncState, IndexedBlock, WatchedContract
from blockchain.registry import rebuild_hooks
from config.locks import held_lock


class Command(AuditedCommand):
    help = (
        "Delete every chain-derived row (events, cursors, domain caches) and replay the logs from the "
        "deployment blocks. The outbox (intents) is kept."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, no_progress: bool, **opts) -> None:
        indexer_probe = Indexer()
        with held_lock(INDEXER_LOCK, ttl=3600, wait=30) as lock:
            if lock is None:
                raise CommandError("the indexer is running (poll_blockchain or the beat task): stop it first")
            chain_id = indexer_probe.chain_id
            with transaction.atomic():
                for name, hook in rebuild_hooks().items():
                    self.stdout.write(f"clearing {name}")
                    hook()
                deleted, _ = ChainEvent.objects.filter(chain_id=chain_id).delete()
                IndexedBlock.objects.filter(chain_id=chain_id).delete()
                WatchedContract.objects.filter(chain_id=chain_id, deployment__isnull=True).delete()
                WatchedContract.objects.filter(chain_id=chain_id).update(next_block=None)
                ChainSyncState.objects.filter(chain_id=chain_id).update(indexed_block=None)
            self.stdout.write(f"deleted {deleted} cached events; replaying from the deployment blocks")
            indexer = Indexer()
            head = indexer.w3.eth.block_number
            start = min(
                (w.start_block for w in WatchedContract.objects.filter(chain_id=chain_id, active=True)),
                default=0,
            )
            bar = tqdm(total=max(0, head - start + 1), unit="block", disable=no_progress, file=self.stderr)
            done = {"to": start - 1}

            def progress(report) -> None:
                bar.update(report.to_block - done["to"])
                bar.set_postfix(events=report.events)
                done["to"] = report.to_block
                lock.extend(3600)

            report = indexer.run(progress=progress)
            bar.close()
        self.stdout.write(
            self.style.SUCCESS(
                f"replayed {report.events} events from blocks {report.from_block}..{report.to_block} in "
                f"{report.seconds:.1f}s ({report.events_per_second:,.0f} events/s)"
            )
        )
