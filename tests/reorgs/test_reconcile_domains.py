"""`reconcile` compares each domain's rows with the contracts' own views: a row edited in PostgreSQL
is named by its domain (exit 1), and `--fix` repairs it by projection without a chain write."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from blockchain.chain.client import get_web3
from blockchain.chain.signer import get_signer
from blockchain.models import ChainTransaction
from campaigns.models import Campaign, Investment, InvestmentStatus, ShareCertificate
from credentials.models import Credential, Institution
from issuers.models import Company, RegistrationStatus
from loans.models import Loan, LoanStatus

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

OTHER = "0x000000000000000000000000000000000000dEaD"


def reconcile(*args: str) -> str:
    out = StringIO()
    call_command("reconcile", *args, stdout=out)
    return out.getvalue()


def tamper(domain: str, world) -> None:
    campaign = world["campaign"]
    if domain == "campaigns":
        Campaign.objects.filter(pk=campaign.pk).update(raised=1)
    elif domain == "investments":
        Investment.objects.filter(campaign=campaign).update(status=InvestmentStatus.FAILED)
    elif domain == "certificates":
        ShareCertificate.objects.filter(campaign=campaign).update(owner=OTHER)
    elif domain == "credentials":
        Credential.objects.filter(pk=world["direct"].pk).update(status="issued")
    elif domain == "batches":
        leaf = Credential.objects.filter(batch__isnull=False).first()
        Credential.objects.filter(pk=leaf.pk).update(status="revoked", revoked_at=timezone.now())
    elif domain == "institutions":
        Institution.objects.filter(pk=world["institution"].pk).update(name="Renamed In The Database")
    elif domain == "issuers":
        # `registering` with no registerIssuer in flight, while the chain has it registered
        Company.objects.filter(pk=campaign.issuer_id).update(
            registration_status=RegistrationStatus.REGISTERING
        )
    elif domain == "loans":
        Loan.objects.filter(status=LoanStatus.REPAID).update(status=LoanStatus.ANCHORED, chain_repaid_hash="")


@pytest.mark.parametrize(
    "domain",
    [
        "campaigns",
        "investments",
        "certificates",
        "credentials",
        "batches",
        "institutions",
        "issuers",
        "loans",
    ],
)
def test_drift_is_named_by_domain_and_fixed_by_projection(world, domain):
    assert "drift 0" in reconcile()
    tamper(domain, world)
    with pytest.raises(CommandError, match=rf"drift in: .*\b{domain}\b"):
        reconcile()
    outbox_rows = ChainTransaction.objects.count()
    nonce = get_web3().eth.get_transaction_count(get_signer().address)
    assert "drift 0" in reconcile("--fix")
    assert ChainTransaction.objects.count() == outbox_rows
    assert get_web3().eth.get_transaction_count(get_signer().address) == nonce
