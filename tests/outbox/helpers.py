"""Helpers shared by the outbox tests: intents against the real LoanRegistry on anvil."""

from __future__ import annotations

import itertools
import time

from django.db import transaction
from eth_utils import keccak

from blockchain.models import ChainTransaction, TxStatus
from blockchain.outbox import enqueue as outbox
from tests.support.chain import BORROWER, LENDER

_counter = itertools.count(1)


def unique_loan_id(prefix: str = "L") -> str:
    return f"{prefix}-{time.time_ns()}-{next(_counter)}"


def enqueue_store_loan(loan_id: str | None = None, *, key: str | None = None) -> ChainTransaction:
    loan_id = loan_id or unique_loan_id()
    with transaction.atomic():
        return outbox.enqueue(
            kind="test.store_loan",
            contract="LoanRegistry",
            function="storeLoan",
            args=[loan_id, keccak(text=loan_id), BORROWER, LENDER],
            idempotency_key=key or f"test:store:{loan_id}",
        )


def statuses() -> dict[str, int]:
    from django.db.models import Count

    return dict(ChainTransaction.objects.values_list("status").annotate(n=Count("id")))


def all_confirmed(expected: int) -> bool:
    return ChainTransaction.objects.filter(status=TxStatus.CONFIRMED).count() == expected
