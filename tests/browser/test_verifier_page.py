"""The public verifier page in a real browser (#22 item 4): paste or upload a credential document or a
proof bundle, see the verdict and every step behind it in the first screen of a laptop, share it by
link and QR code; the share view tells the status without the subject or the transaction."""

from __future__ import annotations

import copy
import json
import re

import pytest
from django.test import override_settings
from eth_account import Account
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from credentials import services
from credentials.models import Credential
from credentials.selectors import anchoring_block
from tests.support.foreign_batch import (
    FOREIGN_INSTITUTION,
    anchor_foreign_batch,
    register_foreign_institution,
)
from tests.support.outbox import settle_outbox

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]

LAPTOP = (1366, 768)
SUBJECT = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
DOCUMENT_STEPS = ["fingerprint", "anchored", "not_revoked", "not_expired", "issuer_active"]
BUNDLE_STEPS = [
    "fingerprint",
    "contract",
    "anchored",
    "transaction",
    "not_revoked",
    "not_expired",
    "issuer_active",
]
EXPLORER = "https://explorer.example/tx/{tx_hash}"


def _submitted(browser):
    """Wait for the page the form posted to (the marker set before submitting is gone) and its result."""
    WebDriverWait(browser, 20).until(
        lambda b: b.execute_script("return window.__beforeSubmit === undefined;")
    )
    result = WebDriverWait(browser, 20).until(
        expected_conditions.presence_of_element_located((By.ID, "result"))
    )
    return result.get_attribute("data-outcome")


def _open(browser, live_server) -> None:
    browser.set_window_size(*LAPTOP)
    browser.get(f"{live_server.url}/verify/")


def _paste_and_verify(browser, live_server, text: str) -> str:
    _open(browser, live_server)
    area = browser.find_element(By.ID, "document")
    area.clear()
    if len(text) > 200:  # as a paste lands: at once (typing a bundle key by key only takes longer)
        browser.execute_script("arguments[0].value = arguments[1];", area, text)
    else:
        area.send_keys(text)
    browser.execute_script("window.__beforeSubmit = true;")
    browser.find_element(By.ID, "verify").click()
    return _submitted(browser)


def _upload_and_verify(browser, live_server, path) -> str:
    _open(browser, live_server)
    browser.find_element(By.ID, "file").send_keys(str(path))
    browser.execute_script("window.__beforeSubmit = true;")
    browser.find_element(By.ID, "verify").click()
    return _submitted(browser)


def _verdict(browser) -> str:
    return browser.find_element(By.ID, "verdict").text


def _steps(browser) -> list[tuple[str, str]]:
    return [
        (item.get_attribute("data-step"), item.get_attribute("data-ok"))
        for item in browser.find_elements(By.CSS_SELECTOR, "#steps [data-step]")
    ]


def _step_text(browser, step: str) -> str:
    return browser.find_element(By.CSS_SELECTOR, f'#steps [data-step="{step}"]').text


def _in_first_screen(browser) -> bool:
    """The verdict ends, and the steps begin, inside the viewport with the page not scrolled."""
    return browser.execute_script(
        """
        const verdict = document.getElementById("verdict").getBoundingClientRect();
        const steps = document.getElementById("steps").getBoundingClientRect();
        return window.scrollY === 0 && verdict.top >= 0 && verdict.bottom <= window.innerHeight
            && steps.top < window.innerHeight;
        """
    )


@pytest.fixture
def university(contracts):
    institution = services.upsert_institution(address=Account.create().address, name="University of Testing")
    settle_outbox()
    institution.refresh_from_db()
    return institution


@pytest.fixture
def diploma(university) -> Credential:
    credential = services.issue_credential(
        actor=None,
        institution=university,
        subject_wallet=SUBJECT,
        credential_type="diploma",
        document={"name": "Ada", "degree": "BSc Mathematics", "year": 2026},
    )
    settle_outbox()
    credential.refresh_from_db()
    return credential


@override_settings(EXPLORER_TX_URL=EXPLORER)
def test_paste_a_credential_and_see_it_valid_then_revoked(diploma, live_server, browser):
    document = diploma.document
    assert _paste_and_verify(browser, live_server, json.dumps(document, indent=2)) == "valid"
    assert _verdict(browser) == "Valid"
    assert _steps(browser) == [(step, "true") for step in DOCUMENT_STEPS]
    assert "University of Testing" in _step_text(browser, "issuer_active")
    link = browser.find_element(By.ID, "tx-link")
    assert link.get_attribute("href") == f"https://explorer.example/tx/{diploma.issued_tx_hash}"
    anchored = _step_text(browser, "anchored")
    assert (
        diploma.issued_tx_hash in anchored and f"block {anchoring_block(diploma.issued_tx_hash)}" in anchored
    )

    assert _paste_and_verify(browser, live_server, json.dumps({"name": "Mallory"})) == "not_found"
    assert _verdict(browser) == "Altered or never issued"
    assert _steps(browser) == [
        ("fingerprint", "true"),
        ("anchored", "false"),
        ("not_revoked", "none"),
        ("not_expired", "none"),
        ("issuer_active", "none"),
    ]
    assert "Unknown" not in browser.find_element(By.ID, "result").text
    assert not browser.find_elements(By.ID, "tx-link") and not browser.find_elements(By.ID, "share-link")

    services.revoke_credential(
        actor=None, credential=Credential.objects.get(pk=diploma.pk), reason="plagiarism"
    )
    settle_outbox()
    assert _paste_and_verify(browser, live_server, json.dumps(document)) == "revoked"
    assert _verdict(browser) == "Revoked by the issuer"
    assert dict(_steps(browser)) == {
        "fingerprint": "true",
        "anchored": "true",
        "not_revoked": "false",
        "not_expired": "true",
        "issuer_active": "true",
    }
    assert "Revoked by the issuer on" in _step_text(browser, "not_revoked")


@override_settings(EXPLORER_TX_URL=EXPLORER)
def test_a_platform_bundle_pasted_or_uploaded_is_valid_in_seven_steps(
    diploma, auth_client, live_server, browser, tmp_path
):
    response = auth_client("operator").get(f"/api/credentials/{diploma.pk}/proof/")
    assert response.status_code == 200
    bundle = response.json()

    assert _paste_and_verify(browser, live_server, json.dumps(bundle, indent=2)) == "valid"
    assert _verdict(browser) == "Valid"
    assert _steps(browser) == [(step, "true") for step in BUNDLE_STEPS]
    assert "University of Testing" in _step_text(browser, "issuer_active")
    assert f"block {bundle['anchor']['block_number']}" in _step_text(browser, "transaction")
    tx_link = browser.find_element(By.CSS_SELECTOR, '[data-step="transaction"] #tx-link')
    assert tx_link.get_attribute("href") == EXPLORER.format(tx_hash=bundle["anchor"]["tx_hash"])

    path = tmp_path / "credential-proof.json"
    path.write_text(json.dumps(bundle))
    assert _upload_and_verify(browser, live_server, path) == "valid"
    assert _steps(browser) == [(step, "true") for step in BUNDLE_STEPS]
    assert diploma.share_id in browser.find_element(By.ID, "share-link").get_attribute("href")


def test_a_batch_an_institution_built_with_openzeppelin_is_valid(contracts, live_server, browser):
    register_foreign_institution(FOREIGN_INSTITUTION, name="Foreign Bank")
    bundles = anchor_foreign_batch(
        institution_address=FOREIGN_INSTITUTION,
        documents=[{"name": f"Grace {n}", "degree": "PhD"} for n in range(3)],
        subject=SUBJECT,
        credential_type="diploma",
    )
    assert _paste_and_verify(browser, live_server, json.dumps(bundles[1])) == "valid"
    assert _verdict(browser) == "Valid"
    assert _steps(browser) == [(step, "true") for step in BUNDLE_STEPS]
    assert "Foreign Bank" in _step_text(browser, "issuer_active")
    assert "batch" in _step_text(browser, "anchored")
    assert not browser.find_elements(By.ID, "share-link")  # the platform never held it: no share id


def test_a_tampered_bundle_shows_the_fingerprint_step_crossed(diploma, auth_client, live_server, browser):
    bundle = auth_client("operator").get(f"/api/credentials/{diploma.pk}/proof/").json()
    altered = copy.deepcopy(bundle)
    altered["credential"]["document"]["degree"] = "PhD Mathematics"
    assert _paste_and_verify(browser, live_server, json.dumps(altered)) == "fingerprint_mismatch"
    assert _verdict(browser) == "Altered or never issued"
    steps = dict(_steps(browser))
    assert steps["fingerprint"] == "false" and len(steps) == len(BUNDLE_STEPS)
    assert "altered" in _step_text(browser, "fingerprint")
    assert not browser.find_elements(By.ID, "share-link")


def test_the_verdict_and_the_steps_are_in_a_laptops_first_screen(diploma, auth_client, live_server, browser):
    # A long paste: the form it fills comes after the result.
    bundle = auth_client("operator").get(f"/api/credentials/{diploma.pk}/proof/").json()
    assert _paste_and_verify(browser, live_server, json.dumps(bundle, indent=8)) == "valid"
    assert browser.execute_script("return [window.innerWidth, window.innerHeight];")[1] <= LAPTOP[1]
    assert _in_first_screen(browser)

    assert _paste_and_verify(browser, live_server, json.dumps({"name": "Mallory"}, indent=2)) == "not_found"
    assert _in_first_screen(browser)


@override_settings(EXPLORER_TX_URL=EXPLORER)
def test_the_share_link_and_its_qr_code_open_the_share_view_without_subject_or_transaction(
    diploma, live_server, browser
):
    assert _paste_and_verify(browser, live_server, json.dumps(diploma.document)) == "valid"
    link = browser.find_element(By.ID, "share-link")
    share_url = link.get_attribute("href")
    assert share_url == f"{live_server.url}/verify/?share={diploma.share_id}" and link.text == share_url
    assert browser.find_element(By.ID, "share-qr").tag_name == "svg"
    assert browser.find_element(By.ID, "copy-share").is_displayed()  # the tiny script ran

    link.click()
    WebDriverWait(browser, 20).until(expected_conditions.url_to_be(share_url))
    result = WebDriverWait(browser, 20).until(
        expected_conditions.presence_of_element_located((By.ID, "result"))
    )
    assert result.get_attribute("data-outcome") == "valid" and _verdict(browser) == "Valid"
    assert _steps(browser) == [(step, "true") for step in DOCUMENT_STEPS]
    assert "University of Testing" in _step_text(browser, "issuer_active")
    assert _in_first_screen(browser)
    page = browser.page_source
    assert SUBJECT.lower() not in page.lower() and diploma.issued_tx_hash.lower() not in page.lower()
    assert "explorer.example" not in page and not browser.find_elements(By.ID, "tx-link")
    download = browser.find_element(By.ID, "bundle-link")
    assert download.text == "Download the proof bundle"
    assert download.get_attribute("href") == f"{live_server.url}/api/credentials/{diploma.share_id}/proof/"
    assert browser.find_element(By.ID, "share-qr").tag_name == "svg"


def test_an_empty_submit_and_broken_json_get_plain_words(contracts, live_server, browser):
    assert _paste_and_verify(browser, live_server, "") == "error"
    assert (
        browser.find_element(By.ID, "error").text
        == "Paste a credential document or a proof bundle, or choose its file."
    )

    broken = '{\n  "name": "Ada",\n  "degree" "BSc"\n}'
    assert _paste_and_verify(browser, live_server, broken) == "error"
    message = browser.find_element(By.ID, "error").text
    assert message.startswith("This is not JSON") and re.search(r"near line 3, column \d+", message)
    assert "Expecting" not in browser.find_element(By.TAG_NAME, "body").text
    assert browser.find_element(By.ID, "document").get_attribute("value") == broken
    result = browser.find_element(By.ID, "result")
    assert result.get_attribute("role") == "status" and _in_first_screen_error(browser)


def _in_first_screen_error(browser) -> bool:
    return browser.execute_script(
        "const box = document.getElementById('error').getBoundingClientRect();"
        "return window.scrollY === 0 && box.bottom <= window.innerHeight;"
    )
