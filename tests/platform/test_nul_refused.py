"""NUL characters are refused in every string the API accepts — JSON, form and multipart bodies and
query strings — with a 400 naming the field, before anything reaches PostgreSQL (which stores no NUL
in text or jsonb: it answered DataError, a 500, for a form-encoded `institution` holding one)."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(auth_client):
    return auth_client("operator")


ISSUE = "/api/credentials/issue/"


@pytest.mark.parametrize("fmt", ["json", "multipart"])
def test_a_nul_in_a_body_field_is_a_400_naming_it(operator, fmt):
    body = {"institution": "ab\x00c", "subject_wallet": "0x" + "1" * 40, "credential_type": "diploma"}
    response = operator.post(ISSUE, body, format=fmt)
    assert response.status_code == 400
    assert response.json()["code"] == "nul_character"
    assert list(response.json()["errors"]) == ["institution"]


def test_a_nul_in_a_form_encoded_body_is_a_400_naming_it(operator):
    response = operator.post(
        "/api/credentials/batch/",
        "institution=1%00&credentials=x",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "nul_character" and "institution" in response.json()["errors"]


def test_a_nul_deep_in_json_is_named_by_its_path(operator):
    body = {"institution": "1", "credentials": [{"subject_wallet": "x", "document": {"name": "a\x00"}}]}
    response = operator.post("/api/credentials/batch/", body, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["credentials[0].document.name"]


def test_a_nul_in_a_json_key_is_refused(operator):
    response = operator.post(ISSUE, {"institution": "1", "document": {"a\x00": 1}}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "nul_character"


@pytest.mark.parametrize(
    "path",
    ["/api/loans/?borrower_wallet=%00", "/api/loans/?lender_wallet=a%00b", "/api/credentials/?status=%00"],
)
def test_a_nul_in_a_query_parameter_is_a_400_naming_it(operator, path):
    response = operator.get(path)
    assert response.status_code == 400
    assert response.json()["code"] == "nul_character"
    assert list(response.json()["errors"]) == [path.split("?")[1].split("=")[0]]


def test_a_nul_in_an_admin_search_is_a_400_page(client, django_user_model):
    root = django_user_model.objects.create_superuser("root", "root@example.com", "x" * 16)
    client.force_login(root)
    response = client.get(reverse("admin:loans_loan_changelist") + "?q=a%00b")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


def test_strings_without_nul_pass_through(operator):
    assert operator.get("/api/loans/?lender_wallet=ab").status_code == 200
