"""What a caller may learn about a credential through the public verification endpoints.

Sequential ids (the platform's and the vault's) answer only for callers who may see the credential:
compliance and operators (any id), the issuing institution's members and the subject (their own).
Anyone else gets the same 404 whether the id exists or not, so counting up ids reveals nothing, not
even which ids exist. Anyone may verify by fingerprint, document or share id, each of which names one
credential unguessably. A verification by share id carries nothing that identifies the subject: no
wallet, no credential type, no ids, no transaction hash (the transaction's input names the subject).
But a share id also opens the credential's proof bundle, document included (shared/API.md): the
holder passes the link on to who should read the credential.
"""

from __future__ import annotations

import dataclasses
import re

from accounts.models import User
from core.api import DomainError, NotFound
from credentials.bundles import build_bundle, verify_bundle
from credentials.models import SHARE_ID_PATTERN, Credential
from credentials.selectors import credentials_for
from credentials.verification import Verification, verify_credential

SHARE_ID = re.compile(SHARE_ID_PATTERN)
NUMERIC = re.compile(r"^[0-9]+$")  # a share id is never all digits (new_share_id)
HIDDEN = "No such credential."  # the one answer for an id that does not exist or is not yours


def may_use_ids(user: User, *, credential_id: int | None = None, onchain_id: int | None = None) -> bool:
    """Whether `user` may ask about a credential by the platform's id or the vault's: compliance and
    operators for any id (also credentials only the chain knows), others for credentials they see."""
    if not user.is_authenticated:
        return False
    if user.has_role("compliance", "operator"):
        return True
    key = {"pk": credential_id} if credential_id is not None else {"onchain_id": onchain_id}
    return credentials_for(user).filter(**key).exists()


def for_share_holders(result: Verification) -> Verification:
    """A verification as a share id's holder (anyone) sees it: the status, never who or what."""
    return dataclasses.replace(
        result, credential_id=None, onchain_id=None, credential_type=None, subject_wallet=None, tx_hash=None
    )


def _shared(share_id: str) -> int | None:
    return Credential.objects.filter(share_id=share_id).values_list("pk", flat=True).first()


def _not_found(fingerprint: str | None, source: str) -> Verification:
    return Verification(
        exists=False,
        valid=False,
        revoked=False,
        expired=False,
        outcome="not_found",
        fingerprint=fingerprint,
        institution=None,
        institution_name=None,
        institution_active=None,
        credential_id=None,
        onchain_id=None,
        credential_type=None,
        subject_wallet=None,
        issued_at=None,
        revoked_at=None,
        expires_at=None,
        tx_hash=None,
        source=source,
    )


def verify_for(
    user: User,
    *,
    credential_id: int | None = None,
    onchain_id: int | None = None,
    share_id: str | None = None,
    fingerprint: str | None = None,
    document: dict | None = None,
    bundle: dict | None = None,
) -> Verification:
    """`POST /api/blockchain/verify/` for `user` (anonymous or signed in). A proof bundle is checked
    against the chain alone, whoever asks (it carries everything it claims). An id the caller may not
    use counts only together with the credential's fingerprint or document: they are verified, and
    the answer is `not_found` unless they name that very id (so a wrong fingerprint cannot tell an
    existing id from a missing one). Without either it is the 404 of a missing credential."""
    if bundle is not None:
        return verify_bundle(bundle)
    proof = {"fingerprint": fingerprint, "document": document}
    if share_id is not None:
        pk = _shared(share_id)
        if pk is None:
            return _not_found(fingerprint.lower() if fingerprint else None, "cache")
        return for_share_holders(verify_credential(credential_id=pk, **proof))
    ids = {"credential_id": credential_id, "onchain_id": onchain_id}
    if credential_id is None and onchain_id is None:
        return verify_credential(**proof)
    if may_use_ids(user, credential_id=credential_id, onchain_id=onchain_id):
        return verify_credential(**ids, **proof)
    if fingerprint is None and document is None:
        raise NotFound(HIDDEN)
    result = verify_credential(**proof)
    named = (
        result.credential_id == credential_id
        if credential_id is not None
        else result.onchain_id == onchain_id
    )
    return result if result.exists and named else _not_found(result.fingerprint, result.source)


def bundle_for(user: User, *, key: str) -> dict:
    """`GET /api/credentials/{key}/proof/`: by share id for anyone holding the link, by the platform's
    numeric id for who may see the credential (404 for anyone else, as for a missing one)."""
    credentials = Credential.objects.select_related("institution", "batch")
    if NUMERIC.fullmatch(key):
        if not may_use_ids(user, credential_id=int(key)):
            raise NotFound(HIDDEN)
        credential = credentials.filter(pk=int(key)).first()
    else:
        credential = credentials.filter(share_id=key).first() if SHARE_ID.fullmatch(key) else None
    if credential is None:
        raise NotFound(HIDDEN)
    return build_bundle(credential)


def status_for(user: User, *, key: str, onchain: bool) -> Verification:
    """`GET /api/blockchain/status/{key}/`: `key` is a share id (anyone), or a numeric id (the
    platform's, or with `onchain` the vault's) that only callers who may use ids get an answer for."""
    if not NUMERIC.fullmatch(key) and SHARE_ID.fullmatch(key):
        if onchain:
            raise DomainError(
                "`onchain` reads a numeric id as the vault's; a share id is not one.",
                code="invalid",
                errors={"onchain": "only with a numeric id"},
            )
        pk = _shared(key)
        if pk is None:
            raise NotFound(HIDDEN)
        return for_share_holders(verify_credential(credential_id=pk))
    ids = {"onchain_id": int(key)} if onchain else {"credential_id": int(key)}
    if not may_use_ids(user, **ids):
        raise NotFound(HIDDEN)
    return verify_credential(**ids)
