"""The public verifier page in a real browser: paste a credential, see the verdict and the tx link."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings
from eth_account import Account
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from credentials import services
from credentials.models import Credential
from tests.support.outbox import settle_outbox

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]


def _paste_and_verify(browser, live_server, text: str) -> str:
    browser.get(f"{live_server.url}/verify/")
    area = browser.find_element(By.ID, "document")
    area.clear()
    area.send_keys(text)
    browser.execute_script("window.__beforeSubmit = true;")
    browser.find_element(By.ID, "verify").click()
    # The form posts and a new document loads (without the marker); then the verdict is read.
    WebDriverWait(browser, 20).until(
        lambda b: b.execute_script("return window.__beforeSubmit === undefined;")
    )
    result = WebDriverWait(browser, 20).until(
        expected_conditions.presence_of_element_located((By.ID, "result"))
    )
    return result.get_attribute("data-outcome")


@override_settings(EXPLORER_TX_URL="https://explorer.example/tx/{tx_hash}")
def test_paste_a_credential_and_see_it_valid_then_revoked(contracts, live_server, browser):
    institution = services.upsert_institution(address=Account.create().address, name="University of Testing")
    settle_outbox()
    institution.refresh_from_db()
    document = {"name": "Ada", "degree": "BSc Mathematics", "year": 2026}
    credential = services.issue_credential(
        actor=None,
        institution=institution,
        subject_wallet="0x90F79bf6EB2c4f870365E785982E1f101E93b906",
        credential_type="diploma",
        document=document,
    )
    settle_outbox()
    credential.refresh_from_db()

    assert _paste_and_verify(browser, live_server, json.dumps(document, indent=2)) == "valid"
    assert browser.find_element(By.ID, "verdict").text == "Valid"
    assert "University of Testing" in browser.find_element(By.ID, "result").text
    link = browser.find_element(By.ID, "tx-link")
    assert link.get_attribute("href") == f"https://explorer.example/tx/{credential.issued_tx_hash}"

    assert _paste_and_verify(browser, live_server, json.dumps({"name": "Mallory"})) == "not_found"
    assert browser.find_element(By.ID, "verdict").text == "Unknown"

    services.revoke_credential(
        actor=None, credential=Credential.objects.get(pk=credential.pk), reason="plagiarism"
    )
    settle_outbox()
    assert _paste_and_verify(browser, live_server, json.dumps(document)) == "revoked"
    assert browser.find_element(By.ID, "verdict").text == "Revoked"
