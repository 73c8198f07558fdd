"""Loan writes and rules: creation, approval (anchoring), repayment, default, and what the chain said.

Chain writes are never made here: a service moves the loan into a state that needs one
(`anchoring`, or a recorded repayment) and the loan's post_save signal puts the intent in the outbox
in the same DB transaction (loans/signals.py).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from blockchain.chain.addresses import InvalidAddress, normalize_address
from blockchain.chain.bindings import NotDeployed
from blockchain.outbox.declared import declare
from core import clock
from core.api import ChainUnavailable, DomainError, StateConflict
from loans.announcements import announce_verification_failed
from loans.currencies import UnknownCurrency, minor_units, normalize_currency
from loans.hashing import loan_hash, repayment_hash
from loans.metrics import LOAN_VERIFICATIONS
from loans.models import (
    ANCHORED_STATUSES,
    HASHED_FIELDS,
    LOAN_ID_PATTERN,
    MAX_INTEREST_RATE_BPS,
    MAX_TERM_MONTHS,
    Loan,
    LoanAction,
    LoanHistoryEntry,
    LoanStatus,
    LoanVerificationReport,
    VerificationScope,
)
from loans.onchain.intents import REPAY_KIND, STORE_KIND
from loans.onchain.reads import OnchainLoan, read_onchain_loans

logger = logging.getLogger(__name__)


def compute_loan_hash(loan: Loan) -> str:
    """The canonical hash of the loan's terms as they are in the row now."""
    return loan_hash(**loan.hashed_terms())


def compute_repaid_hash(loan: Loan, *, loan_hash_hex: str | None = None) -> str:
    assert loan.repaid_at is not None
    return repayment_hash(
        loan_id=loan.loan_id, loan_hash_hex=loan_hash_hex or loan.loan_hash, repaid_at=loan.repaid_at
    )


def record_history(
    loan: Loan,
    *,
    action: str,
    from_status: str = "",
    actor: User | None = None,
    tx_hash: str = "",
    **details: Any,
) -> LoanHistoryEntry:
    return LoanHistoryEntry.objects.create(
        loan=loan,
        action=action,
        from_status=from_status,
        to_status=loan.status,
        actor=actor if actor is not None and actor.pk else None,
        tx_hash=tx_hash,
        details=details,
    )


def clean_terms(terms: dict[str, Any]) -> dict[str, Any]:
    """Service-level validation of loan terms (the API validates first; admin and scripts rely on this)."""
    cleaned = dict(terms)
    errors: dict[str, str] = {}
    if "loan_id" in cleaned and not re.match(LOAN_ID_PATTERN, str(cleaned["loan_id"] or "")):
        errors["loan_id"] = "Use 1 to 100 letters, digits and hyphens."
    for name in ("borrower_wallet", "lender_wallet"):
        if name in cleaned:
            try:
                cleaned[name] = normalize_address(cleaned[name])
            except InvalidAddress as exc:
                errors[name] = str(exc)
    if "currency" in cleaned:
        try:
            cleaned["currency"] = normalize_currency(cleaned["currency"])
        except UnknownCurrency as exc:
            errors["currency"] = str(exc)
    if "principal" in cleaned:
        try:
            principal = Decimal(str(cleaned["principal"]))
            if not principal.is_finite() or principal <= 0:
                raise ValueError
            cleaned["principal"] = principal
        except (ArithmeticError, ValueError):
            errors["principal"] = "Enter a positive amount."
    if "interest_rate_bps" in cleaned and not 0 <= int(cleaned["interest_rate_bps"]) <= MAX_INTEREST_RATE_BPS:
        errors["interest_rate_bps"] = f"Enter 0 to {MAX_INTEREST_RATE_BPS} basis points."
    if "term_months" in cleaned and not 1 <= int(cleaned["term_months"]) <= MAX_TERM_MONTHS:
        errors["term_months"] = f"Enter 1 to {MAX_TERM_MONTHS} months."
    if errors:
        raise DomainError("Invalid loan terms: " + "; ".join(errors.values()), code="invalid", errors=errors)
    return cleaned


def check_consistency(loan: Loan) -> None:
    errors: dict[str, str] = {}
    if loan.borrower_wallet == loan.lender_wallet:
        errors["lender_wallet"] = "The lender must not be the borrower."
    places = minor_units(loan.currency)
    if loan.principal != loan.principal.quantize(Decimal(1).scaleb(-places)):
        errors["principal"] = (
            f"{loan.currency} amounts have at most {minor_units(loan.currency)} decimal places."
        )
    if errors:
        raise DomainError("Invalid loan terms: " + "; ".join(errors.values()), code="invalid", errors=errors)


def create_loan(
    *,
    actor: User | None,
    loan_id: str,
    borrower_wallet: str,
    lender_wallet: str,
    principal: Decimal | str,
    currency: str,
    interest_rate_bps: int,
    term_months: int,
    start_date: date | None = None,
    notes: str = "",
) -> Loan:
    """Record a draft loan (nothing goes on chain until it is approved)."""
    terms = clean_terms(
        {
            "loan_id": loan_id,
            "borrower_wallet": borrower_wallet,
            "lender_wallet": lender_wallet,
            "principal": principal,
            "currency": currency,
            "interest_rate_bps": interest_rate_bps,
            "term_months": term_months,
        }
    )
    loan = Loan(**terms, start_date=start_date, notes=notes, created_by=actor)
    check_consistency(loan)
    try:
        with transaction.atomic():
            loan.save()
            record_history(loan, action=LoanAction.CREATED, actor=actor)
    except IntegrityError:
        if Loan.objects.filter(loan_id=loan.loan_id).exists():
            raise DomainError(
                f"A loan with id {loan.loan_id!r} already exists.",
                code="duplicate_loan_id",
                errors={"loan_id": "A loan with this id already exists."},
            ) from None
        raise
    return loan


def update_loan(*, loan: Loan, actor: User | None, **changes: Any) -> Loan:
    """Change a loan. Its hashed terms may change only while it is a draft: after approval they are
    what the chain anchors, so an edit would make the record disagree with its proof."""
    with transaction.atomic():
        locked = Loan.objects.select_for_update().get(pk=loan.pk)
        frozen = sorted(
            name
            for name in HASHED_FIELDS
            if name in changes
            and locked.status != LoanStatus.DRAFT
            and changes[name] != getattr(locked, name)
        )
        if frozen:
            raise StateConflict(
                f"Loan {locked.loan_id} is {locked.status}: its hashed terms "
                f"({', '.join(frozen)}) cannot change.",
                code="loan_terms_frozen",
                fields=frozen,
            )
        changes = clean_terms(changes)
        before = {name: _jsonable(getattr(locked, name)) for name in changes}
        for name, value in changes.items():
            setattr(locked, name, value)
        check_consistency(locked)
        changed = {
            name: [before[name], _jsonable(value)]
            for name, value in changes.items()
            if before[name] != _jsonable(value)
        }
        if changed:
            try:
                with transaction.atomic():
                    locked.save()
            except IntegrityError:
                raise DomainError(
                    f"A loan with id {locked.loan_id!r} already exists.",
                    code="duplicate_loan_id",
                    errors={"loan_id": "A loan with this id already exists."},
                ) from None
            record_history(
                locked, action=LoanAction.UPDATED, from_status=locked.status, actor=actor, changes=changed
            )
    return locked


def _jsonable(value: Any) -> Any:
    if isinstance(value, (Decimal, date, datetime)):
        return str(value)
    return value


def _transition(locked: Loan, to: str, *, allowed_from: tuple[str, ...], what: str) -> str:
    if locked.status not in allowed_from:
        raise StateConflict(
            f"Loan {locked.loan_id} is {locked.status}; {what} needs it to be {' or '.join(allowed_from)}.",
            code="invalid_transition",
            status=locked.status,
            allowed_from=list(allowed_from),
        )
    previous = locked.status
    locked.status = to
    return previous


def approve_loan(*, loan: Loan, actor: User | None) -> Loan:
    """Approve a draft: fix its canonical hash and ask the chain to anchor it (storeLoan).

    Serialised by a row lock, so a double approve is refused (409) and sends one transaction.
    """
    with transaction.atomic():
        locked = Loan.objects.select_for_update().get(pk=loan.pk)
        previous = _transition(
            locked, LoanStatus.ANCHORING, allowed_from=(LoanStatus.DRAFT,), what="approval"
        )
        locked.loan_hash = compute_loan_hash(locked)
        locked.approved_by = actor
        locked.approved_at = clock.now()
        locked.store_attempt += 1
        locked.last_chain_error = ""
        declare(locked, STORE_KIND)
        locked.save()  # post_save enqueues the declared storeLoan
        record_history(
            locked, action=LoanAction.APPROVED, from_status=previous, actor=actor, loan_hash=locked.loan_hash
        )
    return locked


def request_anchoring(*, loan: Loan, actor: User | None) -> tuple[Loan, bool]:
    """Queue storeLoan again for an approved loan whose anchoring failed. Idempotent: a loan already
    anchoring or anchored gets no second transaction. Returns (loan, queued_now)."""
    with transaction.atomic():
        locked = Loan.objects.select_for_update().get(pk=loan.pk)
        if locked.status in (LoanStatus.ANCHORING, *ANCHORED_STATUSES):
            return locked, False
        previous = _transition(
            locked, LoanStatus.ANCHORING, allowed_from=(LoanStatus.APPROVED,), what="anchoring"
        )
        if compute_loan_hash(locked) != locked.loan_hash:
            # The approved terms were changed behind the platform's back; anchoring them would
            # certify a record nobody approved.
            raise StateConflict(
                f"Loan {locked.loan_id}'s terms no longer match the hash approved for it; "
                "investigate before anchoring.",
                code="loan_tampered",
            )
        locked.store_attempt += 1
        locked.last_chain_error = ""
        declare(locked, STORE_KIND)
        locked.save()
        record_history(
            locked,
            action=LoanAction.ANCHORING_REQUESTED,
            from_status=previous,
            actor=actor,
            attempt=locked.store_attempt,
        )
    return locked, True


def request_repayment(*, loan: Loan, actor: User | None, repaid_at: datetime | None = None) -> Loan:
    """Record the repayment and ask the chain to mark it (markRepaid with the repayment hash).

    The loan turns `repaid` when LoanRepaid is confirmed. Asking again while a request is in
    flight returns the loan unchanged (no second transaction).
    """
    now = clock.now()
    repaid_at = repaid_at or now
    if repaid_at > now:
        raise DomainError(
            "The repayment date cannot be in the future.",
            code="invalid",
            errors={"repaid_at": "in the future"},
        )
    with transaction.atomic():
        locked = Loan.objects.select_for_update().get(pk=loan.pk)
        if locked.repaid_hash and locked.status != LoanStatus.REPAID:
            return locked  # a request is in flight
        _transition(
            locked,
            locked.status,
            allowed_from=(LoanStatus.ANCHORED, LoanStatus.DEFAULTED),
            what="marking it repaid",
        )
        if locked.approved_at and repaid_at < locked.approved_at:
            raise DomainError(
                "The repayment date cannot be before the loan's approval.",
                code="invalid",
                errors={"repaid_at": "before approval"},
            )
        locked.repaid_at = repaid_at
        locked.repaid_hash = compute_repaid_hash(locked)
        locked.repay_attempt += 1
        locked.last_chain_error = ""
        declare(locked, REPAY_KIND)
        locked.save()  # post_save enqueues the declared markRepaid
        record_history(
            locked,
            action=LoanAction.REPAYMENT_REQUESTED,
            from_status=locked.status,
            actor=actor,
            repaid_at=repaid_at.isoformat(),
            repaid_hash=locked.repaid_hash,
        )
    return locked


def mark_defaulted(*, loan: Loan, actor: User | None, reason: str = "") -> Loan:
    """Record a default (a DB fact: the anchored terms stay valid and verifiable)."""
    with transaction.atomic():
        locked = Loan.objects.select_for_update().get(pk=loan.pk)
        if locked.repaid_hash:
            raise StateConflict(
                f"Loan {locked.loan_id} has a repayment recorded; it cannot default.",
                code="invalid_transition",
            )
        previous = _transition(
            locked, LoanStatus.DEFAULTED, allowed_from=(LoanStatus.ANCHORED,), what="a default"
        )
        locked.defaulted_at = clock.now()
        locked.save()
        record_history(locked, action=LoanAction.DEFAULTED, from_status=previous, actor=actor, reason=reason)
    return locked


# --- failed intents (the outbox's failure hooks call these) -----------------------------------------


def anchoring_failed(*, loan: Loan, error_code: str, detail: Any) -> None:
    """storeLoan failed for good: back to `approved` (re-queue with /blockchain/store/)."""
    locked = Loan.objects.select_for_update().get(pk=loan.pk)
    if locked.status != LoanStatus.ANCHORING:
        return  # anchored meanwhile (e.g. the same hash was already on chain)
    previous = locked.status
    locked.status = LoanStatus.APPROVED
    locked.last_chain_error = f"storeLoan failed: {error_code}"[:300]
    locked.save()
    record_history(
        locked, action=LoanAction.ANCHORING_FAILED, from_status=previous, error=error_code, detail=detail
    )


def repayment_failed(*, loan: Loan, error_code: str, detail: Any) -> None:
    """markRepaid failed for good: forget the request so it can be made again."""
    locked = Loan.objects.select_for_update().get(pk=loan.pk)
    if locked.status == LoanStatus.REPAID or not locked.repaid_hash:
        return
    locked.repaid_hash = ""
    locked.repaid_at = None
    locked.last_chain_error = f"markRepaid failed: {error_code}"[:300]
    locked.save()
    record_history(
        locked, action=LoanAction.REPAYMENT_FAILED, from_status=locked.status, error=error_code, detail=detail
    )


# --- integrity verification -----------------------------------------------------------------------


@dataclass
class LoanVerification:
    """One loan recomputed from its DB row and compared with `getLoan` on chain."""

    loan_id: str
    outcome: str  # matched | mismatched | not_anchored
    db_hash: str
    approved_hash: str
    chain_hash: str | None
    anchored_db: bool
    anchored_chain: bool
    repaid_db: bool
    repaid_chain: bool
    db_repaid_hash: str | None
    chain_repaid_hash: str | None
    block_number: int
    problems: list[str] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return self.outcome == "matched"


def compare_with_chain(loan: Loan, onchain: OnchainLoan, *, block_number: int) -> LoanVerification:
    """What the DB row implies against what the chain holds; every disagreement is a problem."""
    db_hash = compute_loan_hash(loan)
    problems: list[str] = []
    if loan.loan_hash and db_hash != loan.loan_hash:
        problems.append("the loan's terms no longer match the hash approved for it")
    if onchain.exists and onchain.loan_hash != db_hash:
        problems.append("the chain holds a different hash for this loan id")
    if onchain.exists and (onchain.borrower, onchain.lender) != (loan.borrower_wallet, loan.lender_wallet):
        problems.append("the chain records other borrower or lender wallets")
    if loan.anchored and not onchain.exists:
        problems.append("the loan is anchored in the database but not on chain")

    repaid_db = loan.status == LoanStatus.REPAID
    db_repaid_hash = compute_repaid_hash(loan, loan_hash_hex=db_hash) if loan.repaid_at else None
    if onchain.repaid:
        if db_repaid_hash is None:
            problems.append("the chain marks the loan repaid; the database has no repayment")
        elif onchain.repaid_hash != db_repaid_hash:
            problems.append("the chain's repayment hash differs from the database's repayment")
    elif repaid_db:
        problems.append("the loan is repaid in the database but not on chain")

    if problems:
        outcome = "mismatched"
    elif not onchain.exists:
        outcome = "not_anchored"
    else:
        outcome = "matched"
    return LoanVerification(
        loan_id=loan.loan_id,
        outcome=outcome,
        db_hash=db_hash,
        approved_hash=loan.loan_hash,
        chain_hash=onchain.loan_hash,
        anchored_db=loan.anchored,
        anchored_chain=onchain.exists,
        repaid_db=repaid_db,
        repaid_chain=onchain.repaid,
        db_repaid_hash=db_repaid_hash,
        chain_repaid_hash=onchain.repaid_hash,
        block_number=block_number,
        problems=problems,
    )


def verify_loan(*, loan: Loan, w3: Any = None) -> LoanVerification:
    """Verify one loan against the chain now (raises ChainUnavailable when the node cannot answer)."""
    (result,) = _verify_chunk([loan], w3=w3, block=None)
    LOAN_VERIFICATIONS.labels(result.outcome).inc()
    return result


def _verify_chunk(loans: list[Loan], *, w3: Any, block: int | None) -> list[LoanVerification]:
    try:
        onchain, block = read_onchain_loans([loan.loan_id for loan in loans], w3=w3, block=block)
    except NotDeployed:
        raise
    except Exception as exc:
        raise ChainUnavailable(f"The chain could not be read: {type(exc).__name__}: {exc}") from exc
    return [compare_with_chain(loan, onchain[loan.loan_id], block_number=block) for loan in loans]


VERIFY_CHUNK = 500
MAX_REPORT_IDS = 1000


def verify_loans(
    *,
    loans: QuerySet[Loan],
    scope: str,
    requested: int,
    triggered_by: str,
    w3: Any = None,
    progress: Callable[[int], None] | None = None,
) -> LoanVerificationReport:
    """Verify many loans against one chain block and store the audit report.

    Loans are read from the DB in key order, `VERIFY_CHUNK` at a time, and `getLoan` is batched,
    so memory stays flat and the chain is asked once per chunk.
    """
    started = timezone.now()
    ids = list(loans.order_by("pk").values_list("pk", flat=True))
    block: int | None = None
    counts = {"matched": 0, "mismatched": 0, "not_anchored": 0}
    mismatches: list[dict] = []
    not_anchored: list[str] = []
    failed: list[tuple[Loan, LoanVerification]] = []
    for start in range(0, len(ids), VERIFY_CHUNK):
        chunk = list(Loan.objects.filter(pk__in=ids[start : start + VERIFY_CHUNK]).order_by("pk"))
        results = _verify_chunk(chunk, w3=w3, block=block)
        block = results[0].block_number if results else block
        for loan, result in zip(chunk, results, strict=True):
            counts[result.outcome] += 1
            LOAN_VERIFICATIONS.labels(result.outcome).inc()
            if result.outcome == "mismatched":
                failed.append((loan, result))
            if result.outcome == "mismatched" and len(mismatches) < MAX_REPORT_IDS:
                mismatches.append(
                    {
                        "loan_id": result.loan_id,
                        "problems": result.problems,
                        "db_hash": result.db_hash,
                        "chain_hash": result.chain_hash,
                    }
                )
            elif result.outcome == "not_anchored" and len(not_anchored) < MAX_REPORT_IDS:
                not_anchored.append(result.loan_id)
        if progress is not None:
            progress(len(chunk))
    with transaction.atomic():
        report = LoanVerificationReport.objects.create(
            scope=scope,
            requested=requested,
            triggered_by=triggered_by[:100],
            chain_id=settings.CHAIN_ID,
            block_number=block,
            started_at=started,
            finished_at=timezone.now(),
            checked=len(ids),
            matched=counts["matched"],
            mismatched=counts["mismatched"],
            not_anchored=counts["not_anchored"],
            mismatches=mismatches,
            not_anchored_ids=not_anchored,
        )
        for loan, result in failed:  # webhooks: loan.verification_failed, with the stored report
            announce_verification_failed(
                loan=loan,
                result={
                    "report_id": report.pk,
                    "block_number": result.block_number,
                    "problems": result.problems,
                    "db_hash": result.db_hash,
                    "chain_hash": result.chain_hash,
                },
            )
    return report


def sample_for_verification(size: int) -> QuerySet[Loan]:
    """A uniform random sample of the loans that have left draft."""
    ids = list(
        Loan.objects.exclude(status=LoanStatus.DRAFT).order_by("?").values_list("pk", flat=True)[:size]
    )
    return Loan.objects.filter(pk__in=ids)


def verify_sample(*, size: int, triggered_by: str, w3: Any = None) -> LoanVerificationReport:
    """The weekly audit: `size` random non-draft loans."""
    return verify_loans(
        loans=sample_for_verification(size),
        scope=VerificationScope.SAMPLE,
        requested=size,
        triggered_by=triggered_by,
        w3=w3,
    )
