"""Credential reads: visibility, and KYC/KYB derived from linked credentials."""

from __future__ import annotations

from typing import NamedTuple

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connections, router
from django.db.models import Q, QuerySet

from accounts.models import User
from accounts.selectors import KycSummary
from blockchain.models import ChainEvent, ChainTransaction, TxStatus
from blockchain.selectors import (
    PREFETCHED_TRANSACTIONS,
    SUMMARY_FIELDS,
    InFlight,
    Requested,
    ShownRule,
    chain_transactions_prefetch,
    derive_shown_status,
    shown_status_annotation,
)
from core.api import StateConflict
from core.rows import JsonRows, RowReader, prepared_cursor
from credentials.models import (
    INELIGIBLE_MEMBER_ROLES,
    Credential,
    CredentialBatch,
    CredentialLink,
    CredentialStatus,
    Institution,
    LinkPurpose,
    SyncStatus,
)
from credentials.onchain.intents import BATCH_KIND, ISSUE_KIND, REVOKE_KIND, REVOKE_LEAF_KIND
from issuers.kyb import KybCredential

# Shown, not stored: a revocation is asked for but its transaction is not confirmed yet.
REVOKING = "revoking"
SHOWN_CREDENTIAL_STATUSES = [*CredentialStatus.values, REVOKING]

# The status the API shows and filters (one table, evaluated in SQL and in Python: see
# blockchain.selectors.ShownRule): `revoking` from the revocation request until its transaction
# (revokeCredential, or revokeBatchLeaf for a batched one) is confirmed (the indexer may store
# `revoked` first), `pending` while the anchoring transaction (its issueCredential, or for a batched
# one its batch's anchorBatch) is on its way, even when the indexer has already seen its event and
# stored `issued`, so a credential (of a batch, too) never reads ahead of its `chain`.
SHOWN_STATUS_RULES = (
    ShownRule(REVOKING, (CredentialStatus.ISSUED,), Requested("revocation_requested_at")),
    ShownRule(REVOKING, (CredentialStatus.REVOKED,), InFlight((REVOKE_KIND, REVOKE_LEAF_KIND))),
    ShownRule(CredentialStatus.PENDING, (CredentialStatus.ISSUED,), InFlight((ISSUE_KIND,))),
    ShownRule(
        CredentialStatus.PENDING, (CredentialStatus.ISSUED,), InFlight((BATCH_KIND,), relation="batch")
    ),
)


def with_shown_status(credentials: QuerySet[Credential]) -> QuerySet[Credential]:
    """Annotate `shown_status` (SHOWN_STATUS_RULES in SQL): for filtering by status and for the
    webhook announcers. The API's reads derive it from the prefetched outbox rows instead."""
    return credentials.annotate(shown_status=shown_status_annotation(Credential, SHOWN_STATUS_RULES))


def shown_status(credential: Credential) -> str:
    """The status the API shows: the `shown_status` annotation when the row has it (a filtered
    list), else SHOWN_STATUS_RULES over the outbox rows read with it (`credentials_for`), else read
    again through `with_shown_status` (a row a service returned)."""
    annotated = getattr(credential, "shown_status", None)
    if annotated is not None:
        return annotated
    derived = derive_shown_status(credential, SHOWN_STATUS_RULES)
    if derived is not None:
        return derived
    rows = with_shown_status(Credential.objects.filter(pk=credential.pk))
    return rows.values_list("shown_status", flat=True).first() or credential.status


def credentials_for(user: User) -> QuerySet[Credential]:
    """Compliance and operators see all; an institution's members its credentials; a user the
    credentials naming their verified wallet."""
    # No `shown_status` annotation: `shown_status()` derives it from these outbox rows (a filter
    # by status annotates: views.CredentialFilter).
    credentials = Credential.objects.select_related("institution", "batch").prefetch_related(
        chain_transactions_prefetch(),
        # a batched credential's `chain` is its batch's anchoring (serializers.CredentialChainField)
        chain_transactions_prefetch("batch__chain_transactions"),
    )
    if not user.is_authenticated:
        return credentials.none()
    if user.has_role("compliance", "operator"):
        return credentials
    visible = Q(institution__members=user)
    if user.wallet_verified and user.wallet_address:
        visible |= Q(subject_wallet=user.wallet_address)
    return credentials.filter(visible).distinct()


# --- one credential, one statement (GET /api/credentials/{id}/) -----------------------------------
#
# `credentials_for(user).get(pk=…)` costs the ORM building and compiling a three-table SELECT of every
# column, then a second statement for the outbox rows (a third for a batched credential's batch's),
# on every request. `credential_detail` reads what the API shows of one credential with the same
# visibility in one statement built once per process: the credential's shown columns, its
# institution's address and `active`, its batch's id and root, and both sets of outbox rows
# (SUMMARY_FIELDS) as JSON arrays. It returns what `credentials_for` would (a Credential with its
# institution and batch cached and `PREFETCHED_TRANSACTIONS` set on it and its batch), so
# `shown_status`, `chain` and `valid` are computed by the same code; tests compare the two reads.

# The credential columns the API shows or computes from (CredentialSerializer, the shown-status rules,
# `valid`, `expired`); the rest stay deferred.
_DETAIL_CREDENTIAL = RowReader(
    Credential,
    [
        "id", "share_id", "institution_id", "subject_wallet", "credential_type", "document",
        "fingerprint", "onchain_id", "batch_id", "leaf", "proof", "expires_at", "status", "issued_at",
        "revocation_reason", "revocation_requested_at", "revoked_at", "last_chain_error", "created_at",
    ],
)  # fmt: skip
_DETAIL_INSTITUTION = RowReader(Institution, ["id", "address", "active"])
_DETAIL_BATCH = RowReader(CredentialBatch, ["id", "public_id", "merkle_root"])
# The outbox rows the API reads (what chain_transactions_prefetch loads), aggregated in the statement.
_OUTBOX = JsonRows(ChainTransaction, SUMMARY_FIELDS)


def _outbox_about(alias: str, object_id: str) -> str:
    """The outbox rows about the row `object_id` (an SQL expression) of the content type given as the
    subquery's one parameter."""
    content_type, subject = _OUTBOX.column(alias, "content_type"), _OUTBOX.column(alias, "object_id")
    return _OUTBOX.sql(alias, where=f"{content_type} = %s AND {subject} = {object_id}")


class _CredentialDetailRead:
    def __init__(self) -> None:
        self.sql: dict[tuple[str, bool], str] = {}

    def _sql(self, alias: str, *, scoped: bool) -> str:
        sql = self.sql.get((alias, scoped))
        if sql is not None:
            return sql
        q = connections[alias].ops.quote_name
        credential, institution, batch = Credential._meta, Institution._meta, CredentialBatch._meta
        c_pk, c_institution, c_batch, c_subject = (
            q(credential.pk.column),
            q(credential.get_field("institution").column),
            q(credential.get_field("batch").column),
            q(credential.get_field("subject_wallet").column),
        )
        columns = [
            *_DETAIL_CREDENTIAL.columns(alias, "c"),
            *_DETAIL_INSTITUTION.columns(alias, "i"),
            *_DETAIL_BATCH.columns(alias, "b"),
            _outbox_about(alias, f"c.{c_pk}"),
            _outbox_about(alias, f"c.{c_batch}"),
        ]
        # Every name comes from the models' _meta, quoted; values are parameters.
        sql = (
            f"SELECT {', '.join(columns)} FROM {q(credential.db_table)} c "  # noqa: S608  # nosec B608
            f"INNER JOIN {q(institution.db_table)} i ON i.{q(institution.pk.column)} = c.{c_institution} "
            f"LEFT OUTER JOIN {q(batch.db_table)} b ON b.{q(batch.pk.column)} = c.{c_batch} "
            f"WHERE c.{c_pk} = %s"
        )
        if scoped:  # credentials_for's visibility: a member of its institution, or its subject
            members = institution.get_field("members").remote_field.through._meta
            m_institution, m_user = (
                q(members.get_field("institution").column),
                q(members.get_field("user").column),
            )
            sql += (
                f" AND (EXISTS (SELECT 1 FROM {q(members.db_table)} m "  # noqa: S608  # nosec B608
                f"WHERE m.{m_institution} = c.{c_institution} AND m.{m_user} = %s) OR c.{c_subject} = %s)"
            )
        self.sql[(alias, scoped)] = sql
        return sql

    def __call__(self, user: User, pk: int) -> Credential | None:
        if not user.is_authenticated or not 0 < pk < 2**63:
            return None
        alias = router.db_for_read(Credential)
        if connections[alias].vendor != "postgresql":  # JSON aggregates: PostgreSQL's (SQLite: `make run`)
            return credentials_for(user).filter(pk=pk).first()
        types = ContentType.objects.db_manager(alias)
        params: list = [
            types.get_for_model(Credential).pk,
            types.get_for_model(CredentialBatch).pk,
            pk,
        ]
        scoped = not user.has_role("compliance", "operator")
        if scoped:
            # Without a verified wallet: NULL, which equals nothing (subject_wallet is never NULL).
            wallet = user.wallet_address if user.wallet_verified and user.wallet_address else None
            params += [user.pk, wallet]
        with prepared_cursor(alias) as cursor:
            cursor.execute(self._sql(alias, scoped=scoped), params)
            row = cursor.fetchone()
        if row is None:
            return None
        n, m = len(_DETAIL_CREDENTIAL), len(_DETAIL_CREDENTIAL) + len(_DETAIL_INSTITUTION)
        credential = _DETAIL_CREDENTIAL.build(alias, row[:n])
        Credential.institution.field.set_cached_value(credential, _DETAIL_INSTITUTION.build(alias, row[n:m]))
        batch = None
        if credential.batch_id is not None:
            batch = _DETAIL_BATCH.build(alias, row[m : m + len(_DETAIL_BATCH)])
            setattr(batch, PREFETCHED_TRANSACTIONS, _OUTBOX.build(alias, row[-1]))
        Credential.batch.field.set_cached_value(credential, batch)
        setattr(credential, PREFETCHED_TRANSACTIONS, _OUTBOX.build(alias, row[-2]))
        return credential


credential_detail = _CredentialDetailRead()
"""`credential_detail(user, pk)`: the credential `credentials_for(user)` would give for `pk`, read with
everything the API shows of it in one statement, or None (no such credential, or not the user's)."""


def institutions() -> QuerySet[Institution]:
    return Institution.objects.prefetch_related(chain_transactions_prefetch())


def batch_credential_ids(batch: CredentialBatch) -> list[int]:
    """The ids of a batch's credentials, in the order they were given (bulk-inserted in that order)."""
    return list(batch.credentials.order_by("pk").values_list("pk", flat=True))


# --- institution members --------------------------------------------------------------------------


def member_ineligibility(user: User) -> str | None:
    """Why `user` cannot be an institution's member, or None. Members issue and revoke the
    institution's credentials, so never an investor (a credential's subject must not be able to
    issue to themselves; the database refuses it too), and only an active account."""
    if user.role in INELIGIBLE_MEMBER_ROLES:
        return "An investor cannot be a member of an institution."
    if not user.is_active:
        return "An inactive account cannot be a member of an institution."
    return None


def eligible_members() -> QuerySet[User]:
    """The accounts that may be made members of an institution (what a member picker offers)."""
    return User.objects.filter(is_active=True).exclude(role__in=INELIGIBLE_MEMBER_ROLES).order_by("username")


def institution_members(institution: Institution) -> QuerySet[User]:
    return institution.members.order_by("username", "pk")


# --- KYC guidance ---------------------------------------------------------------------------------

KYC_PROVIDERS_SHOWN = 20


def kyc_providers() -> QuerySet[Institution]:
    """Institutions whose kyc credentials qualify investors: active, marked kyc_provider, and synced
    (the chain agrees), by name."""
    return Institution.objects.filter(active=True, kyc_provider=True, sync_status=SyncStatus.SYNCED).order_by(
        "name", "pk"
    )


def kyc_next_step(user: User) -> dict:
    """What an investor without a usable KYC credential does next: ask a KYC provider (listed by
    public name and id only) to issue a `kyc` credential to their bound wallet, then watch
    `GET /api/auth/me/`. Institutions issue credentials themselves (API.md: POST
    /api/credentials/issue/ is theirs), so the investor's step is a request to one of them."""
    providers = list(kyc_providers().values("pk", "address", "name")[:KYC_PROVIDERS_SHOWN])
    wallet = user.wallet_address if user.wallet_verified else None
    your_wallet = (
        f"your bound wallet {wallet}"
        if wallet
        else "your wallet, once bound (POST /api/auth/wallet/challenge/, then /api/auth/wallet/verify/)"
    )
    if providers:
        detail = (
            "Ask one of the KYC providers listed here to verify your identity and issue a kyc "
            f"credential to {your_wallet}. It counts once it is confirmed on chain; "
            "GET /api/auth/me/ shows your KYC status."
        )
    else:
        detail = (
            "No KYC provider is registered on the platform yet, so no KYC credential can be issued "
            "now; GET /api/institutions/ lists the institutions as they are added."
        )
    return {
        "action": "request_kyc_credential",
        "detail": detail,
        "credential_type": "kyc",
        "wallet_address": wallet,
        "kyc_providers": [
            {"id": row["pk"], "address": row["address"], "name": row["name"]} for row in providers
        ],
        "kyc_providers_endpoint": "GET /api/institutions/",
        "kyc_status_endpoint": "GET /api/auth/me/",
    }


def _qualifying_links(**holder) -> QuerySet[CredentialLink]:
    return (
        CredentialLink.objects.filter(**holder, credential__institution__kyc_provider=True)
        .select_related("credential__institution")
        .order_by("-credential__issued_at", "-id")
    )


def _state(credential: Credential) -> str:
    if credential.status == CredentialStatus.REVOKED or credential.revocation_requested_at:
        return "revoked"
    if credential.expired:
        return "expired"
    if not credential.institution.active:
        return "issuer_inactive"
    return "valid" if credential.status == CredentialStatus.ISSUED else "pending"


def kyc_summary_for(user: User) -> KycSummary:
    """The user's KYC: valid while a linked kyc credential for their bound wallet, from a
    kyc_provider institution, is issued, confirmed, unrevoked and unexpired."""
    if not (user.wallet_verified and user.wallet_address):
        return {"status": "none", "credential_id": None, "expires_at": None}
    links = list(
        _qualifying_links(user=user, purpose=LinkPurpose.KYC, credential__subject_wallet=user.wallet_address)
    )
    if not links:
        return {"status": "none", "credential_id": None, "expires_at": None}
    chosen = next(
        (link.credential for link in links if _state(link.credential) == "valid"), links[0].credential
    )
    return {
        "status": _state(chosen),
        "credential_id": chosen.pk,
        "expires_at": chosen.expires_at.isoformat() if chosen.expires_at else None,
    }


# KYC states that only a new credential from a provider cures (pending: wait; revoked: not ours to advise).
NEEDS_NEW_KYC = frozenset({"none", "expired", "issuer_inactive"})


def require_valid_kyc(user: User) -> Credential:
    """The investment gate: the user's valid KYC credential, or a 409 saying why not."""
    summary = kyc_summary_for(user)
    if summary["status"] != "valid":
        reasons = {
            "none": "You have no KYC credential for your bound wallet.",
            "revoked": "Your KYC credential was revoked.",
            "expired": "Your KYC credential has expired.",
            "issuer_inactive": "The institution that issued your KYC credential is no longer active.",
            "pending": "Your KYC credential is not confirmed on chain yet.",
        }
        guidance = {"next_step": kyc_next_step(user)} if summary["status"] in NEEDS_NEW_KYC else {}
        raise StateConflict(
            reasons[summary["status"]],
            code=f"kyc_{summary['status']}",
            kyc_status=summary["status"],
            **guidance,
        )
    return Credential.objects.get(pk=summary["credential_id"])


def kyb_credential_of(company) -> KybCredential | None:
    """The company's valid KYB credential for its current, proven wallet (from a kyc_provider
    institution), if any."""
    if company.wallet_proven_at is None:
        return None
    links = _qualifying_links(
        company=company, purpose=LinkPurpose.KYB, credential__subject_wallet=company.wallet_address
    )
    for link in links:
        if _state(link.credential) == "valid":
            return KybCredential(str(link.credential.pk), link.credential.fingerprint)
    return None


def is_accredited(user: User) -> bool:
    """Accreditation is never self-declared: a valid linked `accreditation` credential for the
    user's bound wallet, from a kyc_provider institution."""
    if not (user.wallet_verified and user.wallet_address):
        return False
    links = _qualifying_links(
        user=user, purpose=LinkPurpose.ACCREDITATION, credential__subject_wallet=user.wallet_address
    )
    return any(_state(link.credential) == "valid" for link in links)


# --- the public verifier page ---------------------------------------------------------------------


class HeldCredential(NamedTuple):
    """What the verifier page shows of a credential the platform holds: its share id and the
    transaction that anchored it (its own issueCredential, or its batch's anchorBatch)."""

    share_id: str
    anchoring_tx_hash: str | None


def held_credential_by_fingerprint(fingerprint: str | None) -> HeldCredential | None:
    """The platform's credential with this fingerprint (share id, anchoring transaction), or None
    when the platform never held it (e.g. a batch an institution anchored itself)."""
    if not fingerprint:
        return None
    row = (
        Credential.objects.filter(fingerprint=fingerprint.lower())
        .values_list("share_id", "issued_tx_hash", "batch__anchored_tx_hash")
        .first()
    )
    if row is None:
        return None
    share_id, issued_tx_hash, batch_tx_hash = row
    return HeldCredential(share_id=share_id, anchoring_tx_hash=batch_tx_hash or issued_tx_hash or None)


def anchoring_block(tx_hash: str) -> int | None:
    """The block of an anchoring transaction as the ledger knows it, or None while it is not mined.

    A database read, never a chain call: the surviving vault event the indexer stored, else the
    confirmed transaction's receipt block. None means a reorg removed it and the confirmer is
    anchoring it again (or it was never mined).
    """
    stored = (
        ChainEvent.objects.filter(  # chain id first: the unique log index serves the lookup
            chain_id=settings.CHAIN_ID,
            tx_hash=tx_hash,
            removed=False,
            event_name__in=["CredentialIssued", "BatchAnchored"],
        )
        .values_list("block_number", flat=True)
        .first()
    )
    if stored is not None:
        return stored
    return (
        ChainTransaction.objects.filter(tx_hash=tx_hash, status=TxStatus.CONFIRMED)
        .values_list("block_number", flat=True)
        .first()
    )
