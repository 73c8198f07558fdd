"""View-function reads of the campaign contracts (reconcile)."""

from __future__ import annotations

from web3 import Web3

from blockchain.chain.amounts import from_base_units
from blockchain.chain.bindings import call_many
from blockchain.indexing.registry import Drift, ReconcileResult


def reconcile_campaigns(w3: Web3) -> ReconcileResult:
    """Every deployed campaign's status and total against its contract's views."""
    from campaigns.models import Campaign, CampaignStatus

    rows = list(
        Campaign.objects.exclude(contract_address="").values_list(
            "pk", "contract_address", "status", "raised"
        )
    )
    result = ReconcileResult(checked=len(rows))
    if not rows:
        return result
    calls = []
    for _pk, address, _status, _raised in rows:
        calls += [
            ("Campaign", address, "finalized", []),
            ("Campaign", address, "successful", []),
            ("Campaign", address, "raised", []),
        ]
    values, _block = call_many(calls, w3=w3)
    for i, (pk, _address, status, raised) in enumerate(rows):
        finalized, successful, raised_units = values[3 * i : 3 * i + 3]
        expected = {
            CampaignStatus.SUCCESSFUL: (True, True),
            CampaignStatus.FAILED: (True, False),
            CampaignStatus.ACTIVE: (False, False),
        }.get(status)
        if expected is not None and (bool(finalized), bool(successful)) != expected:
            result.drift.append(
                Drift(
                    "campaigns",
                    f"{pk}:status",
                    cache=status,
                    chain={"finalized": finalized, "successful": successful},
                )
            )
        if from_base_units(raised_units) != raised:
            result.drift.append(
                Drift(
                    "campaigns", f"{pk}:raised", cache=str(raised), chain=str(from_base_units(raised_units))
                )
            )
    return result


ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


def reconcile_investments(w3: Web3) -> ReconcileResult:
    """Every investment the platform says reached the chain (or failed to) against `investmentOf`:
    confirmed and refunded ones recorded for the investor's wallet and amount, cancelled ones
    cancelled, failed ones unknown to the contract. In-flight ones are not judged."""
    from campaigns.models import Investment, InvestmentStatus

    judged = (
        InvestmentStatus.CONFIRMED,
        InvestmentStatus.REFUNDED,
        InvestmentStatus.CANCELLED,
        InvestmentStatus.FAILED,
    )
    rows = list(
        Investment.objects.filter(status__in=judged)
        .exclude(campaign__contract_address="")
        .values_list(
            "pk", "investment_ref", "campaign__contract_address", "investor_wallet", "amount", "status"
        )
    )
    result = ReconcileResult(checked=len(rows))
    if not rows:
        return result
    from blockchain.chain.abi import bytes32_from_hex
    from blockchain.chain.amounts import to_base_units

    values, _block = call_many(
        [("Campaign", address, "investmentOf", [bytes32_from_hex(ref)]) for _pk, ref, address, *_ in rows],
        w3=w3,
    )
    for (pk, _ref, _address, wallet, amount, status), (investor, units, cancelled) in zip(
        rows, values, strict=True
    ):
        recorded = investor != ZERO_ADDRESS
        if status == InvestmentStatus.FAILED:
            expected_ok = not recorded
        elif status == InvestmentStatus.CANCELLED:
            expected_ok = recorded and bool(cancelled)
        else:
            expected_ok = (
                recorded
                and not cancelled
                and Web3.to_checksum_address(investor) == wallet
                and int(units) == to_base_units(amount)
            )
        if not expected_ok:
            result.drift.append(
                Drift(
                    "investments",
                    str(pk),
                    cache={"status": status, "wallet": wallet, "amount": str(amount)},
                    chain={
                        "investor": investor,
                        "amount": str(from_base_units(int(units))),
                        "cancelled": cancelled,
                    },
                )
            )
    return result


def reconcile_certificates(w3: Web3) -> ReconcileResult:
    """Minted certificates against `tokenIdOfRef` and `ownerOf`, and the platform's count of minted
    certificates against `totalMinted()`, all at one block."""
    from blockchain.chain.abi import bytes32_from_hex
    from blockchain.chain.bindings import NotDeployed, deployment_of
    from campaigns.models import CertificateStatus, ShareCertificate

    try:
        token = deployment_of("ShareCertificate").address
    except NotDeployed:
        return ReconcileResult()
    rows = list(
        ShareCertificate.objects.filter(status=CertificateStatus.MINTED).values_list(
            "pk", "certificate_ref", "token_id", "owner"
        )
    )
    result = ReconcileResult(checked=len(rows) + 1)
    calls = [("ShareCertificate", token, "totalMinted", [])]
    calls += [
        ("ShareCertificate", token, "tokenIdOfRef", [bytes32_from_hex(ref)]) for _pk, ref, _t, _o in rows
    ]
    values, block = call_many(calls, w3=w3)
    total, token_ids = int(values[0]), [int(v) for v in values[1:]]
    if total != len(rows):
        result.drift.append(Drift("certificates", "totalMinted", cache=len(rows), chain=total))
    existing = [(row, chain_id) for row, chain_id in zip(rows, token_ids, strict=True) if chain_id]
    owners, _ = call_many(
        [("ShareCertificate", token, "ownerOf", [chain_id]) for _row, chain_id in existing],
        w3=w3,
        block=block,
    )
    owner_of = {row[0]: owner for (row, _chain_id), owner in zip(existing, owners, strict=True)}
    for (pk, _ref, token_id, owner), chain_id in zip(rows, token_ids, strict=True):
        chain_owner = owner_of.get(pk)
        if chain_id != token_id or chain_owner is None or Web3.to_checksum_address(chain_owner) != owner:
            result.drift.append(
                Drift(
                    "certificates",
                    str(pk),
                    cache={"token_id": token_id, "owner": owner},
                    chain={"token_id": chain_id or None, "owner": chain_owner},
                )
            )
    return result
