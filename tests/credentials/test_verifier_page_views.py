"""The public verifier page (#22 item 4) through Django's test client: plain-words errors that keep
what was pasted, proof bundles checked field by field, the steps behind a verdict, the share link
with its QR code, and a share view that names neither the subject nor the transaction."""

from __future__ import annotations

import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from credentials.bundles import BUNDLE_FORMAT
from credentials.fingerprints import CREDENTIAL_SCHEME, fingerprint_of, type_hash
from credentials.models import Credential
from tests.credentials.test_credentials import SUBJECT, document, issue
from tests.support.outbox import settle_outbox

pytestmark = pytest.mark.django_db

EMPTY = "Paste a credential document or a proof bundle, or choose its file."


def page_text(response) -> str:
    return response.content.decode()


def steps_of(response) -> list[tuple[str, str]]:
    return re.findall(r'data-step="([a-z_]+)" data-ok="(true|false|none)"', page_text(response))


def error_of(response) -> str:
    found = re.search(r'<p class="summary" id="error">(.*?)</p>', page_text(response), re.S)
    assert found, page_text(response)
    return found.group(1)


def fake_bundle(**anchor) -> dict:
    """A well-formed bundle shape whose fields are not checked against anything here."""
    doc = {"name": "Ada"}
    return {
        "format": BUNDLE_FORMAT,
        "credential": {
            "scheme": CREDENTIAL_SCHEME,
            "document": doc,
            "fingerprint": fingerprint_of(doc),
            "type": "diploma",
            "type_hash": "0x" + type_hash("diploma").hex(),
            "subject": SUBJECT,
            "issuer": SUBJECT,
            "expires_at": 0,
        },
        "anchor": {
            "kind": "batch",
            "chain_id": 31337,
            "contract": SUBJECT,
            "tx_hash": "0x" + "ab" * 32,
            "block_number": 5,
            "leaf": "0x" + "cd" * 32,
            "proof": [],
            **anchor,
        },
    }


@pytest.mark.parametrize("pasted", ["", "   \n\t "])
def test_an_empty_submit_asks_for_a_document_in_plain_words(client, pasted):
    response = client.post("/verify/", {"document": pasted})
    assert response.status_code == 200
    assert 'data-outcome="error"' in page_text(response) and error_of(response) == EMPTY


def test_an_empty_file_asks_for_a_document_too(client):
    response = client.post("/verify/", {"file": SimpleUploadedFile("empty.json", b"")})
    assert error_of(response) == EMPTY


def test_broken_json_says_where_in_plain_words_and_keeps_the_pasted_text(client):
    pasted = '{\n  "name": "Ada",\n  "degree" "MSc"\n}'
    response = client.post("/verify/", {"document": pasted})
    message = error_of(response)
    assert message.startswith("This is not JSON")
    assert "near line 3, column 12" in message and "copied whole" in message
    assert "Expecting" not in page_text(response) and "JSONDecodeError" not in page_text(response)
    assert '<textarea id="document" name="document" spellcheck="false">{\n  &quot;name&quot;' in page_text(
        response
    )


@pytest.mark.parametrize(
    ("pasted", "words"),
    [
        ('{"score": NaN}', "it contains NaN, which JSON does not allow"),
        ('{"score": -Infinity}', "it contains -Infinity"),
        ('{"n": ' + "9" * 5000 + "}", "a number too long to be read"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
)
def test_json_the_page_cannot_read_is_said_in_plain_words(client, pasted, words):
    response = client.post("/verify/", {"document": pasted})
    assert response.status_code == 200 and words in error_of(response)


def test_a_file_that_is_not_text_is_refused_in_plain_words(client):
    response = client.post("/verify/", {"file": SimpleUploadedFile("c.json", b'{"a": "\xff\xfe"}')})
    assert "not text (UTF-8)" in error_of(response)


def test_a_document_that_is_not_an_object_gets_the_platforms_own_words(client):
    response = client.post("/verify/", {"document": "[1, 2]"})
    assert error_of(response) == "A credential document is a non-empty JSON object."


def test_markup_pasted_comes_back_escaped(client):
    pasted = '</textarea><script>alert(1)</script>{"'
    response = client.post("/verify/", {"document": pasted})
    assert "<script>alert(1)</script>" not in page_text(response)
    assert "&lt;/textarea&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page_text(response)


def test_over_the_size_limit_is_413_in_plain_words_keeping_the_pasted_text(client, settings):
    settings.VERIFY_MAX_DOCUMENT_BYTES = 2048
    pasted = json.dumps({"pad": "x" * 3000})
    response = client.post("/verify/", {"document": pasted})
    assert response.status_code == 413
    assert error_of(response) == "This is larger than 2 KiB; a credential document or a proof bundle is not."
    assert "x" * 3000 in page_text(response)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: None, "anchor.root"),
        (lambda b: b["anchor"].update(root="0x" + "11" * 32, kind="tree"), "anchor.kind"),
        (lambda b: b["credential"].update(subject="0x1234"), "credential.subject"),
        (lambda b: b["credential"].update(document=[]), "credential.document"),
        (lambda b: b["anchor"].update(root="0x" + "11" * 32, proof=["0x12"]), "anchor.proof.0"),
    ],
)
def test_a_malformed_bundle_names_the_field_in_plain_words(client, change, field):
    bundle = fake_bundle()
    change(bundle)
    response = client.post("/verify/", {"document": json.dumps(bundle)})
    message = error_of(response)
    assert message.startswith(f"This proof bundle is incomplete or malformed at “{field}”: "), message
    assert json.loads(json.dumps(bundle)) == json.loads(
        re.search(r'spellcheck="false">(.*?)</textarea>', page_text(response), re.S)
        .group(1)
        .replace("&quot;", '"')
        .replace("&#x27;", "'")
    )


@pytest.mark.parametrize("fmt", ["ledgerbridge.proof-bundle.v2", "ledgerbridge.proof-bundle.v0"])
def test_a_bundle_in_a_format_this_verifier_does_not_read_is_refused_as_a_bundle(client, fmt):
    bundle = fake_bundle()
    bundle["format"] = fmt
    response = client.post("/verify/", {"document": json.dumps(bundle)})
    assert error_of(response) == (
        f"This proof bundle is in the format “{fmt}”, which this verifier does not read (it reads "
        f"“{BUNDLE_FORMAT}”). Download the bundle again from its share link."
    )
    assert not steps_of(response), "not hashed as a document (which would say it was never issued)"


def test_a_bundle_without_its_anchor_is_malformed_not_a_document(client):
    bundle = fake_bundle()
    del bundle["anchor"]
    message = error_of(client.post("/verify/", {"document": json.dumps(bundle)}))
    assert message.startswith("This proof bundle is incomplete or malformed at “anchor”: "), message


def test_an_incomplete_share_link_says_so(client):
    response = client.get("/verify/?share=abc")
    assert error_of(response) == "That share link is incomplete: copy the whole link."


def test_the_page_before_any_submit_has_the_form_and_no_result(client):
    response = client.get("/verify/")
    assert response.status_code == 200
    assert 'id="result"' not in page_text(response)
    assert '<label for="document">' in page_text(response) and '<label for="file">' in page_text(response)


# --- against the chain ------------------------------------------------------------------------------


@pytest.fixture
def held(institution) -> Credential:
    row, member = institution
    issued = issue(member, row, doc=document(7, who="page"))
    settle_outbox()
    return Credential.objects.select_related("institution").get(pk=issued["id"])


@pytest.mark.chain
@override_settings(EXPLORER_TX_URL="https://explorer.example/tx/{tx_hash}")
def test_a_held_document_shows_every_step_the_transaction_and_block_and_its_share_link(client, held):
    response = client.post("/verify/", {"document": json.dumps(held.document)})
    text = page_text(response)
    assert 'data-outcome="valid"' in text and '<h2 id="verdict">Valid</h2>' in text
    assert steps_of(response) == [
        ("fingerprint", "true"),
        ("anchored", "true"),
        ("not_revoked", "true"),
        ("not_expired", "true"),
        ("issuer_active", "true"),
    ]
    assert held.institution.name in text and 'role="status"' in text
    assert f'href="https://explorer.example/tx/{held.issued_tx_hash}"' in text
    assert re.search(rf"in transaction {held.issued_tx_hash}, block \d+\.", text)
    share_url = f"http://testserver/verify/?share={held.share_id}"
    assert f'<a id="share-link" href="{share_url}">' in text
    assert '<svg width="' in text and 'id="share-qr"' in text


@pytest.mark.chain
def test_a_revoked_document_names_the_anchoring_transaction_not_the_revocation(client, held, institution):
    _row, member = institution
    member.post(f"/api/credentials/{held.pk}/revoke/", {"reason": "fraud"}, format="json")
    settle_outbox()
    held.refresh_from_db()
    assert held.revoked_tx_hash
    response = client.post("/verify/", {"document": json.dumps(held.document)})
    text = page_text(response)
    assert '<h2 id="verdict">Revoked by the issuer</h2>' in text
    assert dict(steps_of(response))["not_revoked"] == "false"
    assert held.issued_tx_hash in text and held.revoked_tx_hash not in text


@pytest.mark.chain
def test_a_forged_document_is_altered_or_never_issued_with_no_share_link(client, contracts):
    response = client.post("/verify/", {"document": json.dumps({"name": "Mallory"})})
    text = page_text(response)
    assert '<h2 id="verdict">Altered or never issued</h2>' in text and "Unknown" not in text
    assert steps_of(response) == [
        ("fingerprint", "true"),
        ("anchored", "false"),
        ("not_revoked", "none"),
        ("not_expired", "none"),
        ("issuer_active", "none"),
    ]
    assert 'id="share-link"' not in text and "<svg" not in text


@pytest.mark.chain
@override_settings(EXPLORER_TX_URL="https://explorer.example/tx/{tx_hash}")
def test_the_share_view_shows_status_steps_and_the_bundle_but_not_who_or_which_transaction(client, held):
    response = client.get(f"/verify/?share={held.share_id}")
    text = page_text(response)
    assert response.status_code == 200 and '<h2 id="verdict">Valid</h2>' in text
    assert [step for step, ok in steps_of(response) if ok == "true"] == [
        "fingerprint",
        "anchored",
        "not_revoked",
        "not_expired",
        "issuer_active",
    ]
    assert held.institution.name in text
    assert held.subject_wallet.lower() not in text.lower()
    assert held.issued_tx_hash not in text and "explorer.example" not in text
    assert held.credential_type not in text
    assert f'<a id="bundle-link" href="/api/credentials/{held.share_id}/proof/" download>' in text
    assert client.get(f"/api/credentials/{held.share_id}/proof/").status_code == 200


@pytest.mark.chain
def test_a_share_link_naming_nothing_says_so_without_a_bundle_link(client, contracts):
    response = client.get("/verify/?share=" + "A" * 22)
    text = page_text(response)
    assert 'data-outcome="not_found"' in text
    assert '<h2 id="verdict">No anchored credential under this link</h2>' in text
    assert 'id="bundle-link"' not in text and 'id="share-link"' not in text


@pytest.mark.chain
def test_a_platform_bundle_uploaded_verifies_in_seven_steps_with_its_share_link(client, held, operator):
    bundle = operator.get(f"/api/credentials/{held.pk}/proof/").json()
    upload = SimpleUploadedFile("proof.json", json.dumps(bundle).encode(), content_type="application/json")
    response = client.post("/verify/", {"file": upload})
    text = page_text(response)
    assert '<h2 id="verdict">Valid</h2>' in text
    assert steps_of(response) == [
        (step, "true")
        for step in (
            "fingerprint",
            "contract",
            "anchored",
            "transaction",
            "not_revoked",
            "not_expired",
            "issuer_active",
        )
    ]
    assert f"?share={held.share_id}" in text and 'id="share-qr"' in text
