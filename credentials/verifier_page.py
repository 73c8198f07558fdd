"""The public verifier page (`/verify/`): paste or upload a credential document or a proof bundle
(docs/proof-bundles.md) and see the verdict in plain words with every step behind it. A credential the
platform holds also gets its share link and a QR code of it. The share view (`/verify/?share=<share
id>`) shows that credential's status and steps as any share holder sees them: nothing about its
subject, its type or its transaction (credentials.disclosure).

Only the platform's own DomainError messages reach the page; anything else is said in fixed words.
"""

from __future__ import annotations

import dataclasses
import json
import logging

import segno
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.shortcuts import render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods

from blockchain.chain.client import explorer_tx_url
from core.api import DomainError, NotConfigured
from core.throttling import AnonymousVerifyThrottle
from credentials import selectors
from credentials.bundles import BUNDLE_FORMAT, looks_like_bundle, verify_bundle
from credentials.disclosure import SHARE_ID, verify_for
from credentials.serializers import ProofBundleSerializer
from credentials.verification import Verification, checks_of, verify_credential, when

logger = logging.getLogger(__name__)

TEMPLATE = "credentials/verify.html"

EMPTY = "Paste a credential document or a proof bundle, or choose its file."
NOT_UTF8 = "This file is not text (UTF-8), so it is not a credential document or a proof bundle."
NOT_JSON = (
    "This is not JSON, so it is neither a credential document nor a proof bundle (the problem is near "
    "line {line}, column {column}). Check that it was copied whole."
)
NOT_FINITE = "This is not JSON: it contains {constant}, which JSON does not allow."
NUMBER_TOO_LONG = "This JSON holds a number too long to be read; a credential document has none."
UNKNOWN_BUNDLE_FORMAT = (
    "This proof bundle is in the format “{format}”, which this verifier does not read (it reads "
    f"“{BUNDLE_FORMAT}”). Download the bundle again from its share link."
)
TOO_DEEP = "This JSON is nested too deeply to be a credential document or a proof bundle."
INCOMPLETE_SHARE_LINK = "That share link is incomplete: copy the whole link."

VERDICTS = {
    "valid": "Valid",
    "revoked": "Revoked by the issuer",
    "expired": "Expired",
    "issuer_inactive": "Issuer no longer active",
    "not_found": "Altered or never issued",
    "fingerprint_mismatch": "Altered or never issued",
}
SHARED_NOT_FOUND = "No anchored credential under this link"

STEP_LABELS = {
    "fingerprint": "Fingerprint",
    "contract": "The platform's credential vault",
    "anchored": "Anchored on chain",
    "transaction": "Anchoring transaction",
    "not_revoked": "Not revoked",
    "not_expired": "Not expired",
    "issuer_active": "Issuer active",
}
MARKS = {True: ("true", "✓", "passed"), False: ("false", "✗", "failed"), None: ("none", "–", "not checked")}


def _issuer(result: Verification) -> str:
    return result.institution_name or result.institution or "the issuer"


def _summary(result: Verification, *, shared: bool) -> str:
    """One sentence under the verdict saying what it means."""
    issuer = _issuer(result)
    if result.outcome == "valid":
        return f"Issued by {issuer}, anchored on chain, not revoked and not expired."
    if result.outcome == "revoked":
        on = f" on {when(result.revoked_at)}" if result.revoked_at else ""
        return f"{issuer} revoked this credential{on}: it no longer counts."
    if result.outcome == "expired":
        on = f" on {when(result.expires_at)}" if result.expires_at else ""
        return f"This credential expired{on}: it no longer counts."
    if result.outcome == "issuer_inactive":
        return f"{issuer} issued it but is no longer an active institution: it no longer counts."
    if shared:
        return "Check that the whole link was copied, or ask whoever shared it for a new one."
    if result.outcome == "fingerprint_mismatch":
        return "The document does not hash to its fingerprint: it was changed after it was issued."
    return (
        "Nothing anchored on chain matches it: it was changed after it was issued, or never issued. "
        "The steps below say which check failed."
    )


def _steps(result: Verification, *, tx_url: str | None) -> list[dict]:
    """`checks_of(result)` for the template: a label, the tick or cross (in words too) and, on the
    step naming the anchoring transaction, the explorer link."""
    checks = checks_of(result)
    names = [item["step"] for item in checks]
    linked = "transaction" if "transaction" in names else "anchored"
    steps = []
    for item in checks:
        ok, mark, words = MARKS[item["ok"]]
        steps.append(
            {
                **item,
                "label": STEP_LABELS.get(item["step"], item["step"]),
                "state": ok,
                "mark": mark,
                "words": words,
                "tx_url": tx_url if item["step"] == linked and item["ok"] else None,
            }
        )
    return steps


def _block_of(tx_hash: str) -> int | None:
    """The block of an anchoring transaction, or None while a reorg has it re-anchoring."""
    from credentials.selectors import anchoring_block

    return anchoring_block(tx_hash)


def _first_error(errors: object, path: tuple[str, ...] = ()) -> tuple[str, str]:
    """The first (field path, message) of a serializer's nested errors."""
    if isinstance(errors, dict):
        field, nested = next(iter(errors.items()))
        inner = path if field == "non_field_errors" else (*path, str(field))
        return _first_error(nested, inner)
    if isinstance(errors, list) and errors:
        if all(isinstance(item, str) for item in errors):
            return ".".join(path), str(errors[0])
        for index, item in enumerate(errors):  # a list field's errors: one entry per item
            if item:
                return _first_error(item, (*path, str(index)))
    return ".".join(path), str(errors)


def _bundle_error(errors: object) -> str:
    field, message = _first_error(errors)
    where = f" at “{field}”" if field else ""
    return f"This proof bundle is incomplete or malformed{where}: {message}"


class Unreadable(ValueError):
    """Pasted or uploaded text that is not JSON the page can read; the message is the page's."""


def _parse(text: str) -> object:
    """The pasted JSON, strictly (no NaN or Infinity, as the API's parser)."""

    def no_constants(constant: str) -> None:
        raise Unreadable(NOT_FINITE.format(constant=constant))

    try:
        return json.loads(text, parse_constant=no_constants)
    except Unreadable:
        raise
    except json.JSONDecodeError as exc:
        raise Unreadable(NOT_JSON.format(line=exc.lineno, column=exc.colno)) from None
    except RecursionError:
        raise Unreadable(TOO_DEEP) from None
    except ValueError:  # an integer over sys.get_int_max_str_digits
        raise Unreadable(NUMBER_TOO_LONG) from None


def _share_context(request, share_id: str) -> dict:
    url = request.build_absolute_uri(f"{reverse('verifier')}?share={share_id}")
    qr = segno.make(url, error="m").svg_inline(
        scale=4, dark="#000", light="#fff", svgid="share-qr", title="QR code of the share link"
    )
    # segno's SVG of a URL built here (a share id matches SHARE_ID_PATTERN): no input reaches it raw.
    return {"share_url": url, "share_qr": mark_safe(qr)}  # noqa: S308  # nosec B308 B703


def _verify_text(request, text: str, context: dict) -> None:
    """Verify pasted or uploaded JSON, a proof bundle or a credential document, into `context`."""
    if not text.strip():
        context["error"] = EMPTY
        return
    try:
        value = _parse(text)
    except Unreadable as exc:
        context["error"] = str(exc)
        return
    try:
        if looks_like_bundle(value):
            context["given"] = "bundle"
            if value["format"] != BUNDLE_FORMAT:
                context["error"] = UNKNOWN_BUNDLE_FORMAT.format(format=value["format"][:80])
                return
            body = ProofBundleSerializer(data=value)
            if not body.is_valid():
                context["error"] = _bundle_error(body.errors)
                return
            result = verify_bundle(body.validated_data)
            context["anchor_kind"] = body.validated_data["anchor"]["kind"]
        else:
            context["given"] = "document"
            result = verify_credential(document=value)
    except RecursionError:
        context["error"] = TOO_DEEP
        return
    except DomainError as exc:
        context["error"] = exc.message
        return
    except NotConfigured as exc:
        context["error"] = exc.public_message
        return

    anchored = result.outcome not in ("not_found", "fingerprint_mismatch")
    held = selectors.held_credential_by_fingerprint(result.fingerprint) if anchored else None
    if held is not None:
        context |= _share_context(request, held.share_id)
        if context["given"] == "document" and held.anchoring_tx_hash:
            # The anchoring transaction, not a later revocation's, and its block.
            result = dataclasses.replace(
                result, tx_hash=held.anchoring_tx_hash, block_number=_block_of(held.anchoring_tx_hash)
            )
    _show(context, result, tx_url=explorer_tx_url(result.tx_hash) if anchored else None)


def _show(context: dict, result: Verification, *, tx_url: str | None, shared: bool = False) -> None:
    context["result"] = result
    context["verdict"] = SHARED_NOT_FOUND if shared and not result.exists else VERDICTS[result.outcome]
    context["tone"] = "valid" if result.valid else "neutral" if shared and not result.exists else "invalid"
    context["summary"] = _summary(result, shared=shared)
    context["steps"] = _steps(result, tx_url=tx_url)
    context["tx_url"] = tx_url


def _show_share(request, share_id: str, context: dict) -> None:
    context["shared"] = True
    if not SHARE_ID.fullmatch(share_id):
        context["error"] = INCOMPLETE_SHARE_LINK
        return
    try:
        result = verify_for(AnonymousUser(), share_id=share_id)
    except DomainError as exc:
        context["error"] = exc.message
        return
    except NotConfigured as exc:
        context["error"] = exc.public_message
        return
    _show(context, result, tx_url=None, shared=True)  # a share holder never sees the transaction
    if result.exists:
        context |= _share_context(request, share_id)
        context["bundle_url"] = f"/api/credentials/{share_id}/proof/"


@require_http_methods(["GET", "POST"])
def verifier_page(request):
    """The public verifier: paste or upload a credential document or a proof bundle, see whether it is
    valid and why. A share link (`/verify/?share=<share id>`) shows that credential's status and
    steps, nothing about its subject."""
    context: dict = {"document_text": ""}
    if request.method == "POST":
        context["document_text"] = request.POST.get("document", "")
    throttle = AnonymousVerifyThrottle()
    share_id = request.GET.get("share") if request.method == "GET" else None
    if (request.method == "POST" or share_id is not None) and not throttle.allow_request(request, None):
        wait = int(throttle.wait() or 1)
        context["error"] = f"Too many verifications from your address; try again in {wait} s."
        response = render(request, TEMPLATE, context, status=429)
        response["Retry-After"] = str(wait)
        return response
    if share_id is not None:
        _show_share(request, share_id, context)
    if request.method == "POST":
        upload = request.FILES.get("file")
        limit = settings.VERIFY_MAX_DOCUMENT_BYTES
        size = upload.size if upload else len(context["document_text"].encode())
        if size > limit:
            context["error"] = (
                f"This is larger than {limit // 1024} KiB; a credential document or a proof bundle is not."
            )
            return render(request, TEMPLATE, context, status=413)
        if upload:
            try:
                context["document_text"] = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                context["error"] = NOT_UTF8
                return render(request, TEMPLATE, context)
        _verify_text(request, context["document_text"], context)
    return render(request, TEMPLATE, context)
