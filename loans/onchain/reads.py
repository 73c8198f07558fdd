"""View-function reads of the LoanRegistry: `getLoan` in batches at one block (verification, the
`verify_loans` audit and reconcile)."""

from __future__ import annotations

from dataclasses import dataclass

from web3 import Web3

from blockchain.chain.bindings import call_many, deployment_of
from blockchain.indexing.registry import Drift, ReconcileResult

ARTIFACT = "LoanRegistry"
READ_CHUNK = 200


@dataclass(frozen=True)
class OnchainLoan:
    exists: bool
    loan_hash: str | None
    borrower: str | None
    lender: str | None
    stored_at: int | None
    repaid: bool
    repaid_hash: str | None
    repaid_at: int | None


def _onchain_loan(values: tuple) -> OnchainLoan:
    exists, loan_hash, borrower, lender, stored_at, repaid, repaid_hash, repaid_at = values
    if not exists:
        return OnchainLoan(False, None, None, None, None, False, None, None)
    return OnchainLoan(
        exists=True,
        loan_hash="0x" + bytes(loan_hash).hex(),
        borrower=Web3.to_checksum_address(borrower),
        lender=Web3.to_checksum_address(lender),
        stored_at=int(stored_at),
        repaid=bool(repaid),
        repaid_hash="0x" + bytes(repaid_hash).hex() if repaid else None,
        repaid_at=int(repaid_at) or None,
    )


def read_onchain_loans(
    loan_ids: list[str], *, w3: Web3 | None = None, block: int | None = None
) -> tuple[dict[str, OnchainLoan], int]:
    """`getLoan` for every id, in JSON-RPC batches, all at one block. Returns ({id: loan}, block)."""
    registry = deployment_of(ARTIFACT).address
    values, block = call_many(
        [(ARTIFACT, registry, "getLoan", [loan_id]) for loan_id in loan_ids],
        w3=w3,
        block=block,
        chunk=READ_CHUNK,
    )
    return {loan_id: _onchain_loan(v) for loan_id, v in zip(loan_ids, values, strict=True)}, block


def reconcile_loans(w3: Web3) -> ReconcileResult:
    """Every loan the cache says is on chain (or has chain facts for) against `getLoan`."""
    from loans.models import ANCHORED_STATUSES, Loan

    result = ReconcileResult()
    rows = list(
        Loan.objects.filter(status__in=ANCHORED_STATUSES).values_list(
            "loan_id", "status", "chain_loan_hash", "chain_repaid_hash"
        )
    )
    for start in range(0, len(rows), READ_CHUNK * 5):
        part = rows[start : start + READ_CHUNK * 5]
        onchain, _block = read_onchain_loans([r[0] for r in part], w3=w3)
        for loan_id, status, cached_hash, cached_repaid in part:
            chain = onchain[loan_id]
            result.checked += 1
            if cached_hash != (chain.loan_hash or ""):
                result.drift.append(
                    Drift("loans", f"{loan_id}:loan_hash", cache=cached_hash, chain=chain.loan_hash)
                )
            if (status == "repaid") != chain.repaid or cached_repaid != (chain.repaid_hash or ""):
                result.drift.append(
                    Drift("loans", f"{loan_id}:repaid", cache=cached_repaid or None, chain=chain.repaid_hash)
                )
    return result
