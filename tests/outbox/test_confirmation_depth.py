"""With CHAIN_CONFIRMATIONS > 0 (every production chain): a receipt is `mined`, not `confirmed`, until
that many blocks follow it; the entity's status waits for the confirmation, so does the webhook; a
reorg inside the depth never reaches `confirmed`. And the defaults per chain id."""

from __future__ import annotations

import pytest

from blockchain.indexing.indexer import Indexer
from blockchain.models import ChainTransaction, TxStatus
from blockchain.outbox.confirmer import confirm_pending
from blockchain.outbox.sender import send_queued
from core.env_checks import SAFE_CONFIRMATIONS, UNKNOWN_CHAIN_CONFIRMATIONS, safe_confirmations
from loans.models import Loan
from loans.onchain.intents import STORE_KIND
from tests.support.loans import TERMS, new_loan_id
from tests.support.outbox import confirm_mined
from tests.support.webhook_receiver import partner_endpoint

DEPTH = 3


@pytest.mark.chain
@pytest.mark.django_db
def test_a_loan_is_anchored_only_once_its_receipt_is_deep_enough(contracts, chain, auth_client, settings):
    settings.CHAIN_CONFIRMATIONS = DEPTH
    operator = auth_client("operator")
    with partner_endpoint(operator, ["loan.anchored", "loan.updated"]) as partner:
        loan_id = operator.post("/api/loans/", {"loan_id": new_loan_id(), **TERMS}, format="json").json()[
            "loan_id"
        ]
        operator.post(f"/api/loans/{loan_id}/approve/")
        send_queued()
        confirm_mined()
        Indexer().run()  # the indexer sees LoanStored at once; the API still waits for the depth
        row = ChainTransaction.objects.get(loan__loan_id=loan_id, kind=STORE_KIND)
        assert row.status == TxStatus.MINED
        shown = operator.get(f"/api/loans/{loan_id}/").json()
        assert shown["status"] == "anchoring" and shown["chain"]["status"] == "mined"
        assert partner.events() == []

        chain.mine(DEPTH - 1)
        confirm_pending()
        assert ChainTransaction.objects.get(pk=row.pk).status == TxStatus.MINED, "one block short"
        chain.mine(1)
        confirm_pending()
        assert ChainTransaction.objects.get(pk=row.pk).status == TxStatus.CONFIRMED
        assert operator.get(f"/api/loans/{loan_id}/").json()["status"] == "anchored"
        assert [t for t, _ in partner.events()] == ["loan.anchored"]


@pytest.mark.chain
@pytest.mark.django_db
def test_a_reorg_inside_the_depth_never_confirms_the_lost_receipt(contracts, chain, auth_client, settings):
    settings.CHAIN_CONFIRMATIONS = DEPTH
    operator = auth_client("operator")
    loan_id = operator.post("/api/loans/", {"loan_id": new_loan_id(), **TERMS}, format="json").json()[
        "loan_id"
    ]
    operator.post(f"/api/loans/{loan_id}/approve/")
    send_queued()
    confirm_mined()
    row = ChainTransaction.objects.get(loan__loan_id=loan_id, kind=STORE_KIND)
    lost_block = row.block_hash
    chain.rpc("anvil_reorg", 1, [])  # its block is replaced before the depth was reached
    confirm_pending()  # the receipt is gone: re-broadcast the same bytes
    chain.mine(DEPTH + 1)
    confirm_pending()
    row.refresh_from_db()
    assert row.status == TxStatus.CONFIRMED and row.block_hash != lost_block
    Indexer().run()
    assert Loan.objects.get(loan_id=loan_id).status == "anchored"


def test_production_chains_default_to_a_safe_depth():
    assert safe_confirmations(1) == SAFE_CONFIRMATIONS[1] == 64
    assert safe_confirmations(137) == 128
    assert safe_confirmations(31337) == 0
    assert safe_confirmations(999_999) == UNKNOWN_CHAIN_CONFIRMATIONS > 0
    assert all(depth > 0 for chain_id, depth in SAFE_CONFIRMATIONS.items() if chain_id != 31337)
