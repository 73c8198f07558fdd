"""The dev chain's clock and the platform's (core.clock), moved together. Development only.

`advance_time` moves both forward; `seed_demo` aligns them when `make run` starts, because anvil
forgets how far its clock was moved when it reloads a state file (its next blocks would be stamped
weeks before the last one, behind the platform's clock). Neither clock ever goes backwards: both are
brought to the later of the two.

anvil (and Hardhat) keep the chain's clock as the wall clock plus an offset that `evm_increaseTime`
adds to and reports; the next block is stamped with that time, or one second after the latest
block, whichever is later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.utils import timezone
from web3 import Web3

from blockchain.chain.client import RpcError, get_web3, rpc_call
from core import clock

# Clocks closer than this are in agreement (block stamps are whole seconds, read a moment apart).
TOLERANCE_SECONDS = 5


def describe(seconds: int) -> str:
    """A span for people: "22 days", "1 day 3 h", "90 s"."""
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days} day{'' if days == 1 else 's'}"] if days else []
    parts += [f"{n} {unit}" for n, unit in ((hours, "h"), (minutes, "min"), (secs, "s")) if n]
    return " ".join(parts) or "0 s"


class ChainClockError(Exception):
    """The node cannot move its clock (not a dev chain), or the move was refused."""


@dataclass(frozen=True)
class Clocks:
    """Both clocks after a move: the chain's latest block and the platform's offset."""

    block_number: int
    block_time: datetime
    platform_offset: timedelta
    moved: str = ""  # what was moved, for the command's output ("" when they already agreed)


def _node_offset(w3: Web3) -> int:
    """The node's clock offset in seconds (evm_increaseTime by 0 moves nothing and reports it)."""
    try:
        result = rpc_call(w3, "evm_increaseTime", [0])
    except RpcError as exc:
        raise ChainClockError(
            f"the node does not move its clock (evm_increaseTime: {exc.message}); a dev chain "
            "(anvil, Hardhat) is needed"
        ) from None
    return int(result, 0) if isinstance(result, str) else int(result)


def _increase(w3: Web3, seconds: int) -> None:
    if seconds > 0:
        rpc_call(w3, "evm_increaseTime", [seconds])


def _latest(w3: Web3) -> tuple[int, int]:
    block = w3.eth.get_block("latest")
    return int(block["number"]), int(block["timestamp"])


def _reading(w3: Web3, moved: str) -> Clocks:
    number, stamp = _latest(w3)
    return Clocks(
        block_number=number,
        block_time=datetime.fromtimestamp(stamp, tz=UTC),
        platform_offset=clock.offset(),
        moved=moved,
    )


def _agreed_offset(w3: Web3, wall: int) -> tuple[int, int]:
    """(the node's offset, the later of the two clocks as an offset from `wall`)."""
    node = _node_offset(w3)
    _number, latest = _latest(w3)
    platform = int(clock.offset().total_seconds())
    return node, max(node, platform, latest - wall)


def _require_development() -> None:
    if not clock.follows_dev_offset():
        raise clock.ClockError("the chain's and the platform's clocks move only with DJANGO_ENV=development")


def align(*, w3: Web3 | None = None) -> Clocks:
    """Bring the chain's and the platform's clocks to the later of the two (no block is mined: the
    node's next block is stamped with the agreed time)."""
    _require_development()
    w3 = w3 or get_web3()
    wall = int(timezone.now().timestamp())
    node, agreed = _agreed_offset(w3, wall)
    platform = int(clock.offset().total_seconds())
    moved = []
    if agreed - node > TOLERANCE_SECONDS:
        _increase(w3, agreed - node)
        moved.append(f"chain clock moved forward {describe(agreed - node)}")
    if agreed - platform > TOLERANCE_SECONDS:
        clock.set_offset(seconds=agreed)
        moved.append(f"platform clock moved forward {describe(agreed - platform)}")
    return _reading(w3, "; ".join(moved))


def advance(*, seconds: int, w3: Web3 | None = None) -> Clocks:
    """Move both clocks `seconds` forward from the later of the two, and mine a block so the chain's
    latest block carries the new time (evm_increaseTime, evm_mine)."""
    _require_development()
    if seconds <= 0:
        raise clock.ClockError("time only moves forward: give a positive duration")
    w3 = w3 or get_web3()
    wall = int(timezone.now().timestamp())
    node, agreed = _agreed_offset(w3, wall)
    target = agreed + seconds
    _increase(w3, target - node)
    rpc_call(w3, "evm_mine", [])
    clock.set_offset(seconds=target)
    return _reading(w3, f"both clocks moved forward {describe(seconds)}")
