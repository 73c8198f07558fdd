"""Verifying a credential: from the cache when the platform knows it and the chain confirmed it,
otherwise from the chain (and that answer is cached for CREDENTIAL_CHAIN_CACHE_SECONDS).

Outcomes: `valid`, `not_found`, `revoked`, `expired`, `issuer_inactive`, `fingerprint_mismatch`.
Every answer also lists its steps (`checks_of`): the document's fingerprint, the anchoring, no
revocation, no expiry, an active issuer, each passed, failed or not reached, in plain words.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from types import SimpleNamespace

from django.conf import settings
from django.db import connection
from prometheus_client import Counter

from blockchain.chain.bindings import NotDeployed
from core import clock
from core.api import PUBLIC_CHAIN_UNAVAILABLE, ChainUnavailable, DomainError
from core.cache import cached, keep
from core.log_format import describe_error
from core.rows import prepared_cursor
from credentials.fingerprints import InvalidDocument, fingerprint_of
from credentials.models import Credential, CredentialStatus

logger = logging.getLogger(__name__)

VERIFICATIONS = Counter(
    "credential_verifications_total", "Credential verifications by source and outcome", ["source", "outcome"]
)


@dataclass
class Verification:
    exists: bool
    valid: bool
    revoked: bool
    expired: bool
    outcome: str
    fingerprint: str | None
    institution: str | None
    institution_name: str | None
    institution_active: bool | None
    credential_id: int | None
    onchain_id: int | None
    credential_type: str | None
    subject_wallet: str | None
    issued_at: datetime | None
    revoked_at: datetime | None
    expires_at: datetime | None
    tx_hash: str | None
    source: str
    block_number: int | None = None
    # The steps as checked (proof bundles); None: derived from the fields above by `checks_of`.
    checks: list[dict] | None = None


def check(step: str, ok: bool | None, detail: str) -> dict:
    """One verification step: `ok` is None when an earlier failure left nothing to check."""
    return {"step": step, "ok": ok, "detail": detail}


def when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def issuer_detail(*, name: str | None, address: str | None, active: bool) -> str:
    who = f"{name} ({address})" if name else str(address)
    return (
        f"Issued by {who}, an active institution." if active else f"{who} is no longer an active institution."
    )


def checks_of(result: Verification) -> list[dict]:
    """The steps behind a verification, for the API's `checks` and the verifier page."""
    if result.checks is not None:
        return result.checks
    fingerprint = (
        check("fingerprint", False, "The document does not match the credential: it was altered.")
        if result.outcome == "fingerprint_mismatch"
        else check("fingerprint", True, f"The document's fingerprint is {result.fingerprint}.")
        if result.fingerprint
        else check("fingerprint", None, "No document or fingerprint was given.")
    )
    if not result.exists:
        moot = "Not checked: nothing is anchored."
        return [
            fingerprint,
            check("anchored", False, "Nothing with this fingerprint is anchored: altered or never issued."),
            check("not_revoked", None, moot),
            check("not_expired", None, moot),
            check("issuer_active", None, moot),
        ]
    where = f" in transaction {result.tx_hash}" if result.tx_hash else ""
    where += f", block {result.block_number}" if result.block_number is not None else ""
    revoked = (
        f"Revoked by the issuer on {when(result.revoked_at)}."
        if result.revoked_at
        else "Revoked by the issuer."
    )
    expiry = (
        "Does not expire."
        if result.expires_at is None
        else f"Expired on {when(result.expires_at)}."
        if result.expired
        else f"Valid until {when(result.expires_at)}."
    )
    return [
        fingerprint,
        check("anchored", True, f"Anchored on chain{where}."),
        check("not_revoked", not result.revoked, revoked if result.revoked else "Not revoked."),
        check("not_expired", not result.expired, expiry),
        check(
            "issuer_active",
            result.institution_active,
            issuer_detail(
                name=result.institution_name,
                address=result.institution,
                active=bool(result.institution_active),
            ),
        ),
    ]


def _outcome(*, exists: bool, mismatch: bool, revoked: bool, expired: bool, active: bool) -> str:
    if not exists:
        return "not_found"
    if mismatch:
        return "fingerprint_mismatch"
    if revoked:
        return "revoked"
    if expired:
        return "expired"
    if not active:
        return "issuer_inactive"
    return "valid"


def _from_cache(credential, *, asked_fingerprint: str | None) -> Verification:
    """`credential`: a Credential or the columns `_lookup` reads."""
    # A revocation the institution asked for counts at once, before the chain confirms it.
    revoked = credential.status == CredentialStatus.REVOKED or credential.revocation_requested_at is not None
    expired = credential.expires_at is not None and credential.expires_at <= clock.now()
    anchoring_tx = _anchoring_tx_of(credential)
    outcome = _outcome(
        exists=True,
        mismatch=asked_fingerprint is not None and asked_fingerprint != credential.fingerprint,
        revoked=revoked,
        expired=expired,
        active=credential.institution.active,
    )
    return Verification(
        exists=True,
        valid=outcome == "valid",
        revoked=revoked,
        expired=expired,
        outcome=outcome,
        fingerprint=credential.fingerprint,
        institution=credential.institution.address,
        institution_name=credential.institution.name,
        institution_active=credential.institution.active,
        credential_id=credential.pk,
        onchain_id=credential.onchain_id,
        credential_type=credential.credential_type or None,
        subject_wallet=credential.subject_wallet,
        issued_at=credential.issued_at,
        revoked_at=credential.revoked_at,
        expires_at=credential.expires_at,
        tx_hash=anchoring_tx,
        source="cache",
        block_number=(
            credential.anchored_block
            if hasattr(credential, "anchored_block")  # read with the row by `_lookup`
            else _anchoring_block(anchoring_tx)
        ),
    )


def _anchoring_tx_of(credential) -> str | None:
    """The transaction that anchored `credential` (a Credential or the columns `_lookup` reads): its
    batch's anchorBatch, else its own issueCredential; never a later revocation."""
    batch_tx = getattr(credential, "batch_anchored_tx_hash", None)
    if batch_tx is None and getattr(credential, "batch_id", None):
        batch_tx = credential.batch.anchored_tx_hash
    return batch_tx or credential.issued_tx_hash or None


def _anchoring_block(tx_hash: str | None) -> int | None:
    """The anchoring transaction's block as the ledger stores it (a database read, never the chain)."""
    from credentials.selectors import anchoring_block

    return anchoring_block(tx_hash) if tx_hash else None


def _not_found(fingerprint: str | None, source: str) -> Verification:
    return Verification(
        False,
        False,
        False,
        False,
        "not_found",
        fingerprint,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        source,
    )


def _from_chain(
    *, credential: Credential | None, onchain_id: int | None, fingerprint: str | None
) -> Verification:
    from credentials.onchain.reads import read_batch_credential, read_credential

    key = ":".join(
        [
            "credentials:verify",
            str(settings.CHAIN_ID),
            str(credential.pk if credential else ""),
            str(onchain_id),
            str(fingerprint),
        ]
    )
    hit = cached("verification", key)
    if hit is not None:
        return Verification(**{**hit, "source": "chain"})
    try:
        if credential is not None and credential.batch_id:
            anchored, valid, revoked, expired = read_batch_credential(credential)
            result = _from_cache(credential, asked_fingerprint=fingerprint)
            result.source = "chain"
            result.exists = anchored
            result.revoked, result.expired = revoked, expired
            result.outcome = (
                "valid"
                if valid
                else _outcome(
                    exists=anchored,
                    mismatch=result.outcome == "fingerprint_mismatch",
                    revoked=revoked,
                    expired=expired,
                    active=credential.institution.active,
                )
            )
            result.valid = result.outcome == "valid"
        else:
            chain_id_ = (
                onchain_id if onchain_id is not None else (credential.onchain_id if credential else None)
            )
            lookup = fingerprint or (credential.fingerprint if credential else None)
            state = read_credential(onchain_id=chain_id_, fingerprint=lookup if chain_id_ is None else None)
            if not state.exists:
                result = _not_found(fingerprint, "chain")
            else:
                from credentials.models import Institution

                institution = Institution.objects.filter(address=state.institution).first()
                if credential is not None:
                    anchoring_tx = _anchoring_tx_of(credential)
                else:  # found on chain by id or fingerprint: the platform may still hold it
                    from credentials.selectors import held_credential_by_fingerprint

                    held = held_credential_by_fingerprint(state.fingerprint)
                    anchoring_tx = held.anchoring_tx_hash if held else None
                outcome = _outcome(
                    exists=True,
                    mismatch=fingerprint is not None and fingerprint != state.fingerprint,
                    revoked=state.revoked,
                    expired=state.expired,
                    active=state.institution_active,
                )
                result = Verification(
                    exists=True,
                    valid=outcome == "valid",
                    revoked=state.revoked,
                    expired=state.expired,
                    outcome=outcome,
                    fingerprint=state.fingerprint,
                    institution=state.institution,
                    institution_name=institution.name if institution else None,
                    institution_active=state.institution_active,
                    credential_id=credential.pk if credential else None,
                    onchain_id=state.onchain_id,
                    credential_type=credential.credential_type if credential else None,
                    subject_wallet=state.subject,
                    issued_at=state.issued_at,
                    revoked_at=state.revoked_at,
                    expires_at=state.expires_at,
                    tx_hash=anchoring_tx,
                    source="chain",
                    block_number=_anchoring_block(anchoring_tx),
                )
    except (NotDeployed, DomainError):
        raise
    except Exception as exc:
        logger.warning("credential chain read failed: %s", describe_error(exc))
        raise ChainUnavailable(PUBLIC_CHAIN_UNAVAILABLE) from exc
    keep("verification", key, asdict(result), timeout=settings.CREDENTIAL_CHAIN_CACHE_SECONDS)
    return result


_CACHE_COLUMNS = (
    "pk",
    "fingerprint",
    "status",
    "revocation_requested_at",
    "expires_at",
    "onchain_id",
    "credential_type",
    "subject_wallet",
    "issued_at",
    "revoked_at",
    "issued_tx_hash",
    "batch__anchored_tx_hash",
    "institution__address",
    "institution__name",
    "institution__active",
)


# The public verifier's hot path is one indexed lookup; the ORM's query building cost twice the
# database round trip (measured in `make bench`), so the statement is written once, here.
# The anchoring block comes along (what credentials.selectors.anchoring_block reads: the surviving
# vault event, else the confirmed outbox row), so the cache path stays one statement.
_LOOKUP_SELECT = """
    SELECT c.id, c.fingerprint, c.status, c.revocation_requested_at, c.expires_at, c.onchain_id,
           c.credential_type, c.subject_wallet, c.issued_at, c.revoked_at, c.issued_tx_hash,
           b.anchored_tx_hash, i.address, i.name, i.active,
           COALESCE(
               (SELECT e.block_number FROM blockchain_chainevent e
                WHERE e.chain_id = %(chain_id)s AND e.tx_hash = a.tx AND NOT e.removed
                  AND e.event_name IN ('CredentialIssued', 'BatchAnchored')
                ORDER BY e.block_number LIMIT 1),
               (SELECT t.block_number FROM blockchain_chaintransaction t
                WHERE t.tx_hash = a.tx AND t.status = 'confirmed' LIMIT 1)
           ) AS anchored_block
    FROM credentials_credential c JOIN credentials_institution i ON i.id = c.institution_id
    LEFT JOIN credentials_credentialbatch b ON b.id = c.batch_id
    CROSS JOIN LATERAL (SELECT COALESCE(NULLIF(b.anchored_tx_hash, ''), NULLIF(c.issued_tx_hash, '')) AS tx) a
    WHERE c."""
# The column comes from this fixed mapping, never from input.
_LOOKUP_SQL = {
    key: _LOOKUP_SELECT + column + " = %(value)s"  # nosec B608
    for key, column in {"pk": "id", "onchain_id": "onchain_id", "fingerprint": "fingerprint"}.items()
}


def _lookup(**key) -> SimpleNamespace | None:
    """What verification reads of a credential, by one unique key (pk, onchain_id or fingerprint)."""
    ((name, value),) = key.items()
    if connection.vendor == "postgresql":
        with prepared_cursor(connection.alias) as cursor:
            cursor.execute(_LOOKUP_SQL[name], {"value": value, "chain_id": settings.CHAIN_ID})
            row = cursor.fetchone()
        if row is None:
            return None
        values = dict(zip((*_CACHE_COLUMNS, "anchored_block"), row, strict=True))
    else:  # SQLite (`make run` without PostgreSQL) returns raw strings for times: use the ORM
        row = next(iter(Credential.objects.order_by().filter(**key).values_list(*_CACHE_COLUMNS)[:1]), None)
        if row is None:
            return None
        values = dict(zip(_CACHE_COLUMNS, row, strict=True))
    values["batch_anchored_tx_hash"] = values.pop("batch__anchored_tx_hash") or ""
    institution = SimpleNamespace(
        address=values.pop("institution__address"),
        name=values.pop("institution__name"),
        active=values.pop("institution__active"),
    )
    return SimpleNamespace(**values, institution=institution)


def verify_credential(
    *,
    credential_id: int | None = None,
    fingerprint: str | None = None,
    onchain_id: int | None = None,
    document: dict | None = None,
) -> Verification:
    """Verify by platform id, fingerprint, on-chain id or the document itself (any combination: a
    fingerprint or document given with an id must match it)."""
    if document is not None:
        try:
            fingerprint = fingerprint_of(document)
        except InvalidDocument as exc:
            raise DomainError(str(exc), code="invalid", errors={"document": str(exc)}) from None
    fingerprint = fingerprint.lower() if fingerprint else None
    if credential_id is not None:
        credential = _lookup(pk=credential_id)
        if credential is None:
            result = _not_found(fingerprint, "cache")
            VERIFICATIONS.labels(result.source, result.outcome).inc()
            return result
    elif onchain_id is not None:
        credential = _lookup(onchain_id=onchain_id)
    elif fingerprint is not None:
        credential = _lookup(fingerprint=fingerprint)
    else:
        raise DomainError(
            "Give a credential id, an on-chain id, a fingerprint or the document.", code="invalid"
        )

    confirmed = credential is not None and credential.status in (
        CredentialStatus.ISSUED,
        CredentialStatus.REVOKED,
    )
    if confirmed:
        result = _from_cache(credential, asked_fingerprint=fingerprint)
    else:
        if credential is not None:  # the chain path needs the whole row (batch, proof)
            credential = Credential.objects.select_related("institution", "batch").get(pk=credential.pk)
        result = _from_chain(credential=credential, onchain_id=onchain_id, fingerprint=fingerprint)
    VERIFICATIONS.labels(result.source, result.outcome).inc()
    return result
