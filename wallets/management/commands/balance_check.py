import statistics
import time

from django.core.management.base import BaseCommand, CommandError

from blockchain.chain.addresses import InvalidAddress, normalize_address
from wallets.balances import get_balances


class Command(BaseCommand):
    help = "An address's balances (cached and from the chain); --benchmark times both paths."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--address", required=True)
        parser.add_argument("--benchmark", action="store_true", help="time cached vs chain reads")
        parser.add_argument("--runs", type=int, default=200)

    def handle(self, *args, address: str, benchmark: bool, runs: int, **opts) -> None:
        try:
            address = normalize_address(address, allow_zero=True)
        except InvalidAddress as exc:
            raise CommandError(str(exc)) from None
        chain = {v.asset: v for v in get_balances(address, verify=True)}
        cached = {v.asset: v for v in get_balances(address)}
        for asset, view in chain.items():
            agree = "ok" if cached[asset].base_units == view.base_units else "DIFFERS"
            self.stdout.write(
                f"{view.symbol:>8} {view.amount:f} (pending {view.pending_delta:f}) "
                f"at block {view.block_number}  cache: {cached[asset].amount:f} [{agree}]"
            )
        if benchmark:
            cached_ms = _timed(runs, lambda: get_balances(address))
            chain_ms = _timed(runs, lambda: get_balances(address, verify=True))
            cached_p50, chain_p50 = statistics.median(cached_ms), statistics.median(chain_ms)
            ratio = chain_p50 / cached_p50
            self.stdout.write(
                f"cached p50 {cached_p50:.3f} ms, chain p50 {chain_p50:.3f} ms "
                f"({ratio:.1f}× faster cached), {runs} reads each"
            )


def _timed(runs: int, read) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        read()
        samples.append((time.perf_counter() - started) * 1000)
    return samples
