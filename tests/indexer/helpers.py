"""Emit events by calling the contracts directly (not through the API or the outbox)."""

from __future__ import annotations

import itertools
import time

from eth_utils import keccak

from tests.support.chain import BORROWER, LENDER, send

_ids = itertools.count(1)


def store_loan(registry: str, loan_id: str | None = None, **kwargs) -> str:
    loan_id = loan_id or f"IDX-{time.time_ns()}-{next(_ids)}"
    send(registry, "LoanRegistry", "storeLoan", loan_id, keccak(text=loan_id), BORROWER, LENDER, **kwargs)
    return loan_id


def mint_batch(certificates: str, count: int, *, campaign: str = LENDER) -> None:
    refs = [keccak(text=f"cert-{time.time_ns()}-{next(_ids)}") for _ in range(count)]
    send(
        certificates,
        "ShareCertificate",
        "mintBatch",
        refs,
        [BORROWER] * count,
        campaign,
        [1] * count,
        [""] * count,
    )
