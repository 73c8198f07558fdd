"""Smoke suite for a second node implementation: deploy, writes on every contract through the
platform's services and the outbox, reverts (simulated, mined, and answered at broadcast), a
snapshot/revert reorg, rebuild and reconcile. Nothing here knows which node answers: the node is
SMOKE_NODE's (hardhat by default, see conftest.py), driven through the DevNode interface only.
"""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from eth_utils import keccak

from blockchain.chain.bindings import ContractRevert, bound
from blockchain.chain.client import get_web3
from blockchain.indexing.indexer import Indexer
from blockchain.indexing.reconcile import run_reconcile
from blockchain.models import ChainTransaction, ContractDeployment, TxStatus
from blockchain.outbox import sender
from blockchain.outbox.confirmer import confirm_pending
from blockchain.outbox.sender import FILLER_KIND, send_queued
from campaigns.models import Investment
from contracts.deployment import verify_deployments
from credentials import services as credential_services
from credentials.models import Credential
from loans import services as loan_services
from loans.models import Loan, LoanAction, LoanStatus
from loans.onchain.intents import STORE_KIND
from tests.investments.conftest import kyc_institution, make_investor, officer, open_campaign  # noqa: F401
from tests.outbox.helpers import enqueue_store_loan, unique_loan_id
from tests.support.chain import BORROWER, LENDER, send
from tests.support.loans import make_loan
from tests.support.outbox import settle_outbox

pytestmark = [pytest.mark.hardhat, pytest.mark.chain, pytest.mark.django_db]

SUBJECT = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"  # dev account 3
OTHER_OPERATOR = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"  # dev account 4, granted the role below
GWEI = 10**9


def anchored(loan: Loan) -> Loan:
    loan = loan_services.approve_loan(loan=loan, actor=None)
    settle_outbox()
    loan.refresh_from_db()
    assert loan.status == LoanStatus.ANCHORED, loan.last_chain_error
    return loan


def store_kind_rows(loan_id: str):
    return ChainTransaction.objects.filter(kind=STORE_KIND, loan__loan_id=loan_id)


def chain_states() -> dict:
    """Every chain-derived state the suite writes, for comparing before and after a rebuild."""
    return {
        "loans": sorted(Loan.objects.values_list("loan_id", "status", "anchored_tx_hash", "repaid_tx_hash")),
        "credentials": sorted(Credential.objects.values_list("pk", "status", "onchain_id")),
        "investments": sorted(Investment.objects.values_list("pk", "status")),
    }


def grant_operator(address: str) -> None:
    """A second operator key, outside the platform (a foreign writer racing the platform's rows)."""
    send(bound("LoanRegistry").address, "LoanRegistry", "grantRole", keccak(text="OPERATOR_ROLE"), address)


def direct_store(loan_id: str, *, wait: bool = True, **fees) -> str:
    """storeLoan(loan_id) by the other operator, with another hash than the platform's."""
    w3 = get_web3()
    registry = bound("LoanRegistry")
    tx = {
        "from": OTHER_OPERATOR,
        "to": registry.address,
        "data": registry.encode("storeLoan", loan_id, keccak(text="not the platform's"), BORROWER, LENDER),
        **fees,
    }
    tx_hash = w3.eth.send_transaction(tx)
    if wait:
        assert w3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)["status"] == 1
    return tx_hash.to_0x_hex()


def test_the_suite_is_deployed_and_its_code_verified(contracts):
    assert set(contracts) >= {"LoanRegistry", "CredentialVault", "IssuerRegistry", "CampaignFactory"}
    results = verify_deployments(w3=get_web3(), deployments=list(ContractDeployment.objects.all()))
    assert results and all(r.ok for r in results), results


def test_writes_on_every_contract_are_confirmed_indexed_rebuilt_and_reconciled(
    contracts,
    open_campaign,  # noqa: F811 - IssuerRegistry.registerIssuer + CampaignFactory.createCampaign
    make_investor,  # noqa: F811 - CredentialVault.upsertInstitution + issueCredential (KYC)
    kyc_institution,  # noqa: F811
):
    # IssuerRegistry, CampaignFactory, then Campaign.recordInvestment.
    campaign = open_campaign(goal="300", hard_cap="1000")
    assert campaign.contract_address
    _investor, client, _wallet = make_investor()
    invested = client.post(f"/api/campaigns/{campaign.pk}/investments/", {"amount": "120"}, format="json")
    assert invested.status_code == 202, invested.json()
    settle_outbox()
    assert Investment.objects.get(campaign=campaign).status == "confirmed"

    # CredentialVault: another institution, an issue and a revoke.
    university = credential_services.upsert_institution(address=SUBJECT, name="University")
    settle_outbox()
    university.refresh_from_db()
    credential = credential_services.issue_credential(
        actor=None,
        institution=kyc_institution,
        subject_wallet=SUBJECT,
        credential_type="diploma",
        document={"n": 1},
    )
    settle_outbox()
    credential.refresh_from_db()
    assert credential.onchain_id is not None
    credential_services.revoke_credential(actor=None, credential=credential, reason="superseded")
    settle_outbox()
    credential.refresh_from_db()
    assert credential.status == "revoked"

    # LoanRegistry: two anchored, one of them repaid.
    kept = anchored(make_loan())
    repaid = anchored(make_loan())
    loan_services.request_repayment(loan=repaid, actor=None)
    settle_outbox()
    repaid.refresh_from_db()
    assert repaid.status == LoanStatus.REPAID

    assert not ChainTransaction.objects.exclude(status=TxStatus.CONFIRMED).exists()
    Indexer().run()
    assert run_reconcile().drift_count == 0
    before = chain_states()
    assert {kept.loan_id, repaid.loan_id} <= {row[0] for row in before["loans"]}

    call_command("rebuild_from_chain", "--no-progress", stdout=io.StringIO())
    assert chain_states() == before
    assert run_reconcile().drift_count == 0


def test_a_view_call_that_reverts_is_decoded(contracts):
    with pytest.raises(ContractRevert) as refused:
        bound("LoanRegistry").call("markRepaid", "never-stored", b"\x01" * 32, sender=BORROWER)
    assert refused.value.error.name == "AccessControlUnauthorizedAccount"


def test_a_simulated_revert_fails_the_row_with_the_custom_error_name(contracts):
    loan = make_loan()
    send(
        bound("LoanRegistry").address,
        "LoanRegistry",
        "storeLoan",
        loan.loan_id,
        keccak(text="squatter"),
        BORROWER,
        LENDER,
    )
    loan_services.approve_loan(loan=loan, actor=None)
    settle_outbox()
    row = store_kind_rows(loan.loan_id).get()
    assert row.status == TxStatus.FAILED and row.error_code == "LoanAlreadyStored"
    assert row.nonce is None  # refused in simulation: no nonce used
    loan.refresh_from_db()
    assert loan.status == LoanStatus.APPROVED and "LoanAlreadyStored" in loan.last_chain_error


def test_a_transaction_that_reverts_in_its_block_is_named_by_the_confirmer(contracts, chain):
    """Mined, status 0: the revert data comes from a tracer or a replay, whichever the node has."""
    grant_operator(OTHER_OPERATOR)
    loan_id = unique_loan_id("MINED")
    row = enqueue_store_loan(loan_id)
    chain.set_automine(False)
    send_queued()  # simulated on the pending state (free), signed and in the pool
    row.refresh_from_db()
    assert row.status == TxStatus.SENT
    # The other operator's storeLoan pays more, so it goes first in the same block.
    direct_store(loan_id, wait=False, maxPriorityFeePerGas=100 * GWEI, maxFeePerGas=300 * GWEI)
    chain.mine(1)
    chain.set_automine(True)
    confirm_pending()
    row.refresh_from_db()
    assert row.status == TxStatus.FAILED and row.error_code == "LoanAlreadyStored", row.error
    assert row.block_number is not None


def test_a_revert_answered_at_broadcast_is_a_mined_transaction(contracts, monkeypatch):
    """A node that executes a raw transaction at once (Hardhat's automine) may answer the send
    with its revert: the transaction is in a block all the same, and no nonce filler is made."""
    grant_operator(OTHER_OPERATOR)
    loan_id = unique_loan_id("RACE")
    row = enqueue_store_loan(loan_id)
    simulate = sender._simulate

    def simulate_then_race(w3, rows, signer_address):
        estimates = simulate(w3, rows, signer_address)
        direct_store(loan_id)  # lands between our simulation and our broadcast
        return estimates

    monkeypatch.setattr(sender, "_simulate", simulate_then_race)
    report = send_queued()
    assert report.failed == 0 and report.sent == 1, report
    monkeypatch.undo()
    confirm_pending()
    row.refresh_from_db()
    assert row.status == TxStatus.FAILED and row.error_code == "LoanAlreadyStored", row.error
    assert not ChainTransaction.objects.filter(kind=FILLER_KIND).exists()
    settle_outbox()  # the signer's nonce lane is intact: the next write goes through
    assert anchored(make_loan()).status == LoanStatus.ANCHORED


def test_a_snapshot_revert_reorg_returns_the_loan_to_anchoring_until_re_mined(contracts, chain):
    Indexer().run()
    loan = loan_services.approve_loan(loan=make_loan(), actor=None)
    fork = chain.snapshot()
    settle_outbox()  # storeLoan in block N
    Indexer().run()
    loan.refresh_from_db()
    assert loan.status == LoanStatus.ANCHORED
    row = store_kind_rows(loan.loan_id).get()
    first_block = (row.block_number, row.block_hash)

    assert chain.revert(fork)  # block N and its storeLoan are gone...
    chain.mine(2)  # ...and other, empty blocks are at N and N+1: a changed block hash
    Indexer().run()
    loan.refresh_from_db()
    assert loan.status == LoanStatus.ANCHORING and loan.anchored_tx_hash == ""
    assert loan.history.filter(action=LoanAction.ANCHOR_REORGED).exists()

    confirm_pending()  # the receipt is gone: the outbox re-broadcasts the same signed bytes
    chain.mine(1)
    confirm_pending()
    loan.refresh_from_db()
    row.refresh_from_db()
    assert loan.status == LoanStatus.ANCHORED and loan.anchored_tx_hash == row.tx_hash
    assert (row.block_number, row.block_hash) != first_block
    assert store_kind_rows(loan.loan_id).count() == 1
    Indexer().run()
    assert run_reconcile().drift_count == 0
