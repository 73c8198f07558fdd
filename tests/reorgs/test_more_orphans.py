"""The last orphaned kinds (IssuerRevoked, a tracked ERC-20 Transfer), a reorg that swaps one of the
platform's transactions for a foreign one, and an investment the chain was never asked about, which
no projection or rebuild may turn into a chain write."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from eth_account import Account
from eth_utils import keccak

from blockchain.chain.abi import interface
from blockchain.chain.bindings import bound
from blockchain.indexing.indexer import Indexer
from blockchain.indexing.reconcile import run_reconcile
from blockchain.models import ChainTransaction
from campaigns.models import Investment, InvestmentStatus
from issuers.models import Company, RegistrationStatus
from loans import services as loan_services
from loans.models import LoanStatus
from tests.investments.conftest import client_of
from tests.support.chain import LENDER, send
from tests.support.issuance import approved_company
from tests.support.loans import make_loan
from tests.support.outbox import settle_outbox
from tests.wallets.conftest import token  # noqa: F401
from wallets.balances import get_balance

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


def orphan_last_block(chain) -> None:
    chain.rpc("anvil_rollback", 1)
    chain.mine(2)
    Indexer().run()


@pytest.fixture
def registered_company(contracts, officer, make_user):
    owner, _ = make_user("issuer")
    return approved_company(owner=owner, officer=officer, legal_name="Registered AG")


def registered_on_chain(company: Company) -> bool:
    return bool(bound("IssuerRegistry").call("isRegisteredIssuer", company.wallet_address))


def test_issuer_revoked_orphaned(registered_company, chain):
    company = registered_company
    send(bound("IssuerRegistry").address, "IssuerRegistry", "revokeIssuer", company.wallet_address)
    Indexer().run()
    company.refresh_from_db()
    assert company.registration_status == RegistrationStatus.REVOKED and not registered_on_chain(company)

    orphan_last_block(chain)
    company.refresh_from_db()
    assert registered_on_chain(company) is True
    assert company.registration_status == RegistrationStatus.REGISTERED and company.last_chain_error == ""
    assert run_reconcile().drift_count == 0


def test_erc20_transfer_orphaned(token, chain):  # noqa: F811
    holder = Account.create().address
    send(token, "DemoToken", "mint", holder, 100)
    assert get_balance(holder, "DUSD").base_units == 100  # now cached
    send(token, "DemoToken", "mint", holder, 50)
    Indexer().run()
    assert get_balance(holder, "DUSD").base_units == 150

    orphan_last_block(chain)  # the second mint is gone
    on_chain = bound("DemoToken", address=token).call("balanceOf", holder)
    assert on_chain == 100
    assert get_balance(holder, "DUSD").base_units == on_chain
    assert run_reconcile().drift_count == 0


def test_a_reorg_swapping_a_platform_transaction_for_a_foreign_one(registered_company, chain):
    """The block holding the platform's storeLoan is replaced by one holding another operator's
    revokeIssuer: the loan goes back in flight (and is anchored again by the same signed bytes), the
    foreign revocation is observed, and the two ledgers agree."""
    company = registered_company
    registry = bound("IssuerRegistry").address
    send(registry, "IssuerRegistry", "grantRole", keccak(text="OPERATOR_ROLE"), LENDER)
    loan = loan_services.approve_loan(loan=make_loan(), actor=None)
    settle_outbox()
    Indexer().run()
    loan.refresh_from_db()
    assert loan.status == LoanStatus.ANCHORED
    row = loan.chain_transactions.get()

    foreign = {
        "from": LENDER,
        "to": registry,
        "data": "0x"
        + interface("IssuerRegistry").encode_call("revokeIssuer", [company.wallet_address]).hex(),
        "gas": hex(200_000),
    }
    chain.rpc("anvil_reorg", 1, [[foreign, 0]])
    assert bound("LoanRegistry").call("getLoan", loan.loan_id)[0] is False

    Indexer().run()
    loan.refresh_from_db()
    company.refresh_from_db()
    assert loan.status == LoanStatus.ANCHORING and loan.anchored_tx_hash == ""
    assert company.registration_status == RegistrationStatus.REVOKED and not registered_on_chain(company)

    settle_outbox()  # the confirmer broadcasts the same signed storeLoan again
    Indexer().run()
    loan.refresh_from_db()
    assert loan.status == LoanStatus.ANCHORED and loan.anchored_tx_hash == row.tx_hash
    assert bound("LoanRegistry").call("getLoan", loan.loan_id)[0] is True
    assert ChainTransaction.objects.filter(object_id=loan.pk, kind=row.kind).count() == 1
    assert run_reconcile().drift_count == 0


def test_an_investment_cancelled_while_held_stays_cancelled_through_a_rebuild(
    open_campaign, make_investor, settings
):
    settings.AML_LARGE_AMOUNT = Decimal("500")
    campaign = open_campaign(hard_cap="100000")
    user, _client, _wallet = make_investor(annual_income="5000000", net_worth="5000000")
    client = client_of(user)
    response = client.post(f"/api/campaigns/{campaign.pk}/investments/", {"amount": "600"}, format="json")
    assert response.status_code == 202 and response.json()["status"] == "held_for_review"
    investment = Investment.objects.get(pk=response.json()["id"])
    assert client.post(f"/api/investments/{investment.pk}/cancel/").status_code in (200, 202)
    investment.refresh_from_db()
    assert investment.status == InvestmentStatus.CANCELLED
    outbox_rows = ChainTransaction.objects.count()

    call_command("rebuild_from_chain", "--no-progress", stdout=StringIO(), stderr=StringIO())
    settle_outbox()
    investment.refresh_from_db()
    assert investment.status == InvestmentStatus.CANCELLED and investment.recorded_tx_hash == ""
    assert ChainTransaction.objects.count() == outbox_rows
