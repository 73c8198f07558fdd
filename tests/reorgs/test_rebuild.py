"""`rebuild_from_chain` on a wiped cache: the same answers, and not one chain write.

The world: a successful campaign with certificates (one moved by its holder on chain), a failed
investment's refund, credentials issued singly and in a batch, one revoked by the platform, one
revoked directly on chain (the case that once made a rebuild send `revokeCredential`), and an
anchored and repaid loan.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from blockchain.chain.client import get_web3
from blockchain.chain.signer import get_signer
from blockchain.models import ChainTransaction
from campaigns.models import Campaign, Investment
from credentials.models import Credential, CredentialBatch
from issuers.models import Company
from loans.models import Loan
from tests.support.issuance import OPEN_FROM, end_campaign
from tests.support.outbox import settle_outbox

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


def answers(clients: dict) -> dict:
    """Every list a frontend reads, as each role sees it (ids, statuses, owners, chain objects)."""
    seen = {}
    for role, client in clients.items():
        for url in (
            "/api/campaigns/",
            "/api/investments/",
            "/api/certificates/",
            "/api/credentials/",
            "/api/loans/",
        ):
            response = client.get(url, {"page_size": 200})
            if response.status_code == 200:
                seen[(role, url)] = response.json()
    return seen


def differences(old, new, path="") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        return [
            d
            for k in sorted(old.keys() | new.keys())
            for d in differences(old.get(k), new.get(k), f"{path}.{k}")
        ]
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [
            d
            for i, (a, b) in enumerate(zip(old, new, strict=True))
            for d in differences(a, b, f"{path}[{i}]")
        ]
    return [] if old == new else [f"{path}: {old!r} -> {new!r}"]


def test_rebuild_reproduces_every_answer_without_an_outbox_row_or_a_nonce(world):
    clients = world["clients"]
    before = answers(clients)
    outbox_rows = list(ChainTransaction.objects.order_by("pk").values_list("pk", "status", "tx_hash"))
    signer = get_signer().address
    nonce = get_web3().eth.get_transaction_count(signer)

    call_command("rebuild_from_chain", "--no-progress", stdout=StringIO(), stderr=StringIO())
    settle_outbox()  # anything a rebuild had queued would be sent now

    assert list(ChainTransaction.objects.order_by("pk").values_list("pk", "status", "tx_hash")) == outbox_rows
    assert get_web3().eth.get_transaction_count(signer) == nonce
    after = answers(clients)
    assert after.keys() == before.keys()
    for key in before:
        assert after[key] == before[key], (
            f"{key} changed after the rebuild: {differences(before[key], after[key])}"
        )


def chain_times() -> dict[str, list]:
    """Every chain-derived time column, row by row."""
    return {
        "campaign": list(Campaign.objects.order_by("pk").values_list("pk", "activated_at", "closed_at")),
        "investment": list(
            Investment.objects.order_by("pk").values_list("pk", "confirmed_at", "cancelled_at")
        ),
        "credential": list(Credential.objects.order_by("pk").values_list("pk", "issued_at", "revoked_at")),
        "batch": list(CredentialBatch.objects.order_by("pk").values_list("pk", "anchored_at")),
        "loan": list(Loan.objects.order_by("pk").values_list("pk", "anchored_at", "repaid_confirmed_at")),
        "issuer": list(Company.objects.order_by("pk").values_list("pk", "registered_at")),
    }


def test_chain_times_are_their_blocks_and_a_rebuild_keeps_them(world):
    w3 = get_web3()

    def mined_at(tx_hash: str) -> datetime:
        block = w3.eth.get_transaction_receipt(tx_hash)["blockNumber"]
        return datetime.fromtimestamp(w3.eth.get_block(block)["timestamp"], tz=UTC)

    facts = [
        *[(c.activated_at, c.created_tx_hash) for c in Campaign.objects.exclude(created_tx_hash="")],
        *[(c.closed_at, c.finalized_tx_hash) for c in Campaign.objects.exclude(finalized_tx_hash="")],
        *[(i.confirmed_at, i.recorded_tx_hash) for i in Investment.objects.exclude(recorded_tx_hash="")],
        *[(c.issued_at, c.issued_tx_hash) for c in Credential.objects.exclude(issued_tx_hash="")],
        *[(c.revoked_at, c.revoked_tx_hash) for c in Credential.objects.exclude(revoked_tx_hash="")],
        *[(b.anchored_at, b.anchored_tx_hash) for b in CredentialBatch.objects.exclude(anchored_tx_hash="")],
        *[(loan.anchored_at, loan.anchored_tx_hash) for loan in Loan.objects.exclude(anchored_tx_hash="")],
        *[
            (loan.repaid_confirmed_at, loan.repaid_tx_hash)
            for loan in Loan.objects.exclude(repaid_tx_hash="")
        ],
        *[(c.registered_at, c.registered_tx_hash) for c in Company.objects.exclude(registered_tx_hash="")],
    ]
    assert len(facts) >= 12  # every domain of the world has its chain times
    wrong = [(at, tx_hash, mined_at(tx_hash)) for at, tx_hash in facts if at != mined_at(tx_hash)]
    assert wrong == []

    before = chain_times()
    call_command("rebuild_from_chain", "--no-progress", stdout=StringIO(), stderr=StringIO())
    assert chain_times() == before


def test_a_company_with_a_finished_and_a_running_campaign_is_rebuilt_as_it_was(open_campaign, officer):
    """Finished campaigns once all passed through `deploying` during the reset, and a company with
    more than one broke "one campaign in progress per company" (the rebuild failed)."""
    from campaigns import services as campaign_services
    from campaigns.models import CampaignStatus

    first = open_campaign(goal="500")
    end_campaign(first)
    assert first.status == CampaignStatus.FAILED  # nobody invested
    second = campaign_services.create_campaign(
        actor=first.issuer.owner,
        issuer=first.issuer,
        title="Second round",
        goal="100",
        hard_cap="1000",
        min_investment="10",
        share_price="1",
        starts_at=OPEN_FROM + timedelta(days=366),  # a company runs one campaign in 12 months
        ends_at=OPEN_FROM + timedelta(days=400),
    )
    campaign_services.submit_campaign(campaign=second, actor=first.issuer.owner)
    campaign_services.review_campaign(campaign=second, officer=officer, decision="approve")
    settle_outbox()
    before = {c.pk: (c.status, c.contract_address, c.finalized_tx_hash) for c in Campaign.objects.all()}
    assert before[second.pk][0] == CampaignStatus.ACTIVE
    outbox_rows = ChainTransaction.objects.count()

    call_command("rebuild_from_chain", "--no-progress", stdout=StringIO(), stderr=StringIO())

    after = {c.pk: (c.status, c.contract_address, c.finalized_tx_hash) for c in Campaign.objects.all()}
    assert after == before
    assert ChainTransaction.objects.count() == outbox_rows, "a rebuild writes nothing to the chain"


def test_a_finished_campaign_the_chain_no_longer_shows_goes_back_to_deploying_after_a_rebuild(open_campaign):
    from django.db import transaction

    from blockchain.models import ChainEvent
    from campaigns.models import CampaignStatus
    from campaigns.onchain.projection import settle_after_rebuild

    campaign = open_campaign(goal="500")
    end_campaign(campaign)
    assert campaign.status == CampaignStatus.FAILED
    # What a rebuild sees of a campaign whose creation is not on this chain: its events gone, its
    # chain columns reset, its status still the chain-decided one.
    ChainEvent.objects.filter(args__campaignRef=campaign.campaign_ref).delete()
    Campaign.objects.filter(pk=campaign.pk).update(created_tx_hash="", finalized_tx_hash="")
    with transaction.atomic():
        settle_after_rebuild()
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DEPLOYING
