"""Each remaining event kind, orphaned by a real rollback on anvil and indexed again: the platform
says what the contracts' views say (the cases the issue listed are in test_ledger_truth.py)."""

from __future__ import annotations

import pytest
from eth_account import Account

from blockchain.chain.abi import bytes32_from_hex
from blockchain.chain.bindings import bound
from blockchain.indexing.indexer import Indexer
from campaigns.models import Investment, InvestmentStatus
from credentials import services as credential_services
from credentials.models import BatchStatus, Credential, CredentialBatch, CredentialStatus, Institution
from loans import services as loan_services
from loans.models import LoanStatus
from tests.support.loans import make_loan
from tests.support.outbox import settle_outbox

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

SUBJECT = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"


def orphan_last_block(chain) -> None:
    """Drop the newest block (its transactions are gone) and make the new chain longer."""
    chain.rpc("anvil_rollback", 1)
    chain.mine(2)
    Indexer().run()


def test_loan_repaid_orphaned(contracts, chain):
    loan = loan_services.approve_loan(loan=make_loan(), actor=None)
    settle_outbox()
    loan_services.request_repayment(loan=loan, actor=None)
    settle_outbox()
    Indexer().run()
    loan.refresh_from_db()
    assert loan.status == LoanStatus.REPAID
    orphan_last_block(chain)
    loan.refresh_from_db()
    repaid_on_chain = bound("LoanRegistry").call("getLoan", loan.loan_id)[5]
    assert repaid_on_chain is False and loan.status == LoanStatus.ANCHORED and loan.repaid_tx_hash == ""


def test_credential_issued_orphaned(contracts, chain, kyc_institution):
    credential = credential_services.issue_credential(
        actor=None,
        institution=kyc_institution,
        subject_wallet=SUBJECT,
        credential_type="diploma",
        document={"n": 1},
    )
    settle_outbox()
    Indexer().run()
    orphan_last_block(chain)
    credential.refresh_from_db()
    chain_id = bound("CredentialVault").call("credentialIdOfRef", bytes32_from_hex(credential.credential_ref))
    assert chain_id == 0 and credential.status == CredentialStatus.PENDING and credential.onchain_id is None


def test_batch_anchored_orphaned(contracts, chain, kyc_institution):
    batch = credential_services.issue_batch(
        actor=None,
        institution=kyc_institution,
        items=[
            {"subject_wallet": SUBJECT, "credential_type": "diploma", "document": {"n": i}} for i in range(2)
        ],
    )
    settle_outbox()
    Indexer().run()
    orphan_last_block(chain)
    batch.refresh_from_db()
    anchored = bound("CredentialVault").call("batchOf", bytes32_from_hex(batch.merkle_root))[0]
    assert anchored is False and batch.status == BatchStatus.PENDING
    assert set(batch.credentials.values_list("status", flat=True)) == {CredentialStatus.PENDING}


def test_batch_leaf_revoked_orphaned(contracts, chain, kyc_institution):
    batch = credential_services.issue_batch(
        actor=None,
        institution=kyc_institution,
        items=[
            {"subject_wallet": SUBJECT, "credential_type": "diploma", "document": {"n": 10 + i}}
            for i in range(2)
        ],
    )
    settle_outbox()
    leaf = batch.credentials.order_by("pk").first()
    credential_services.revoke_credential(actor=None, credential=leaf, reason="superseded")
    settle_outbox()
    Indexer().run()
    assert Credential.objects.get(pk=leaf.pk).status == CredentialStatus.REVOKED
    orphan_last_block(chain)
    leaf.refresh_from_db()
    revoked = bound("CredentialVault").call(
        "isLeafRevoked", bytes32_from_hex(batch.merkle_root), bytes32_from_hex(leaf.leaf)
    )
    assert revoked is False and leaf.status == CredentialStatus.ISSUED
    assert CredentialBatch.objects.get(pk=batch.pk).status == BatchStatus.ANCHORED


def test_institution_upserted_orphaned(contracts, chain):
    address = Account.create().address
    credential_services.upsert_institution(address=address, name="First Name")
    settle_outbox()
    credential_services.upsert_institution(address=address, name="Second Name")
    settle_outbox()
    Indexer().run()
    assert Institution.objects.get(address=address).name == "Second Name"
    orphan_last_block(chain)
    row = Institution.objects.get(address=address)
    known, _active, _kyc, chain_name, _uri = bound("CredentialVault").call("institutionOf", address)
    assert known and chain_name == "First Name" and row.name == "First Name"  # what the chain says now
    settle_outbox()  # the confirmer sees the receipt gone and sends the same upsert again
    Indexer().run()
    assert Institution.objects.get(address=address).name == "Second Name"
    assert bound("CredentialVault").call("institutionOf", address)[3] == "Second Name"


def test_investment_cancelled_orphaned(open_campaign, make_investor, chain):
    campaign = open_campaign(goal="1000", hard_cap="10000")
    _user, client, _wallet = make_investor()
    response = client.post(f"/api/campaigns/{campaign.pk}/investments/", {"amount": "150"}, format="json")
    assert response.status_code == 202
    settle_outbox()
    investment = Investment.objects.get(pk=response.json()["id"])
    assert client.post(f"/api/investments/{investment.pk}/cancel/").status_code in (200, 202)
    settle_outbox()
    Indexer().run()
    investment.refresh_from_db()
    assert investment.status == InvestmentStatus.CANCELLED
    orphan_last_block(chain)
    investment.refresh_from_db()
    campaign.refresh_from_db()
    contract = bound("Campaign", address=campaign.contract_address)
    _investor, _amount, cancelled = contract.call("investmentOf", bytes32_from_hex(investment.investment_ref))
    assert cancelled is False and investment.status == InvestmentStatus.CONFIRMED
    from blockchain.chain.amounts import from_base_units

    assert campaign.raised == from_base_units(contract.call("raised"))
