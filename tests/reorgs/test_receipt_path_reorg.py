"""A fact applied from a receipt is withdrawn when its block leaves the chain, even when the indexer
never saw that block (CHAIN_CONFIRMATIONS=0: the confirmer confirms from the receipt alone)."""

from __future__ import annotations

import pytest

from blockchain.chain.bindings import bound
from blockchain.indexing.indexer import Indexer
from blockchain.indexing.reconcile import run_reconcile
from blockchain.models import ChainEvent, ReorgRecord
from blockchain.outbox.confirmer import confirm_pending
from loans import services
from loans.models import LoanStatus
from tests.support.chain import BORROWER
from tests.support.loans import make_loan
from tests.support.outbox import settle_outbox

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


def test_a_receipt_fact_is_withdrawn_by_the_confirmer_before_any_indexer_run(contracts, chain, settings):
    assert settings.CHAIN_CONFIRMATIONS == 0
    loan = make_loan()
    services.approve_loan(loan=loan, actor=None)
    settle_outbox()  # confirmed from its receipt; the indexer has not run
    loan.refresh_from_db()
    assert loan.status == LoanStatus.ANCHORED
    stored = ChainEvent.objects.get(event_name="LoanStored", args__loanId=loan.loan_id)
    assert not ReorgRecord.objects.exists()

    chain.rpc("anvil_rollback", 1)  # the block with storeLoan is gone (its transaction dropped)
    confirm_pending()  # the confirmed row's block is no longer canonical: re-checked, withdrawn
    loan.refresh_from_db()
    stored.refresh_from_db()
    assert stored.removed is True
    assert loan.status == LoanStatus.ANCHORING and loan.anchored_tx_hash == ""  # until re-mined

    settle_outbox()  # the same signed bytes are broadcast again and re-mined
    loan.refresh_from_db()
    assert (
        loan.status == LoanStatus.ANCHORED and bound("LoanRegistry").call("getLoan", loan.loan_id)[0] is True
    )
    Indexer().run()
    assert run_reconcile().drift_count == 0


def test_an_event_re_mined_at_the_same_height_survives_the_rewind_that_follows(contracts, chain):
    """The confirmer stores the re-mined log (new block hash) before the indexer notices the reorg;
    the indexer's rewind then marks everything from the fork removed, the new log included, and
    re-indexing the range brings that same log back to life."""
    loan = make_loan()
    services.approve_loan(loan=loan, actor=None)
    settle_outbox()
    Indexer().run()
    row = loan.chain_transactions.get()
    first = ChainEvent.objects.get(event_name="LoanStored", args__loanId=loan.loan_id)
    chain.mine(2)  # the storeLoan block is now 3 deep
    raw = "0x" + bytes(row.raw_tx).hex()
    # The same transaction re-mined at the same height, beside a stranger's transfer so the new block
    # cannot come out byte-identical (and so with the old hash).
    stranger = {"from": BORROWER, "to": BORROWER, "value": hex(1)}
    chain.rpc("anvil_reorg", 3, [[raw, 0], [stranger, 0]])

    confirm_pending()  # the receipt path sees it first, in the new block
    Indexer().run()  # then the indexer: reorg detected, range rewound and indexed again
    loan.refresh_from_db()
    live = ChainEvent.objects.filter(event_name="LoanStored", args__loanId=loan.loan_id, removed=False)
    assert live.count() == 1
    assert live.get().block_hash != first.block_hash and live.get().block_number == first.block_number
    assert loan.status == LoanStatus.ANCHORED and loan.anchored_tx_hash == row.tx_hash
    assert ReorgRecord.objects.count() == 1
    assert run_reconcile().drift_count == 0


def test_the_snapshot_base_state_outlives_the_blocks_earlier_tests_mined(chain):
    """anvil stores a block's state each time a block is mined on top of it and evicts first in,
    first out (500 by default), by hash: evicting an old copy of the base block's state, stored by
    an earlier test, dropped the copy the running test had just stored, and a reorg down to the base
    failed (BlockOutOfRangeError), in some full runs. The session node keeps every state."""
    base = int(chain.rpc("eth_blockNumber"), 16)
    stranger = {"from": BORROWER, "to": BORROWER, "value": hex(1)}
    for _ in range(600):  # 600 earlier tests, each mining one block on the base
        snapshot = chain.snapshot()
        chain.rpc("eth_sendTransaction", stranger)
        assert chain.revert(snapshot)
    chain.rpc("eth_sendTransaction", stranger)
    chain.mine(2)  # each stored state evicts the oldest copy of the base's
    head = int(chain.rpc("eth_blockNumber"), 16)
    assert int(chain.rpc("eth_getTransactionCount", BORROWER, hex(base)), 16) >= 0  # raised
    chain.rpc("anvil_reorg", head - base, [[stranger, 0]])  # down to the base itself
    assert int(chain.rpc("eth_blockNumber"), 16) == head
    assert chain.rpc("eth_getBlockByNumber", hex(base + 1), False)["transactions"]
