"""Unknown query parameters are a 400 naming the accepted ones (core.query_params), on every list.

`?batch_id=` on the credentials list used to answer with every credential, as if it had matched them
all. The accepted parameters come from what each view declares (its filterset, paginator, `format`,
`extra_query_params`), so a filter a view adds is accepted without touching the check.
"""

from __future__ import annotations

import django_filters
import pytest
from django.urls import URLResolver, get_resolver, reverse
from rest_framework import generics, serializers
from rest_framework.test import APIRequestFactory

from core.query_params import KnownQueryParameters, accepted_query_parameters
from loans.models import Loan, LoanStatus
from tests.support.loans import make_loan

pytestmark = pytest.mark.django_db

ALWAYS = {"page", "page_size", "format"}


def _patterns(resolver: URLResolver):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern)
        else:
            yield pattern


def list_endpoints() -> list[tuple[str, type]]:
    """(URL, view class) of every router list route in the URL conf."""
    return sorted(
        (reverse(p.name), p.callback.cls)
        for p in _patterns(get_resolver())
        if p.name and p.name.endswith("-list") and getattr(p.callback, "actions", {}).get("get") == "list"
    )


def declared_filters(view_class) -> set[str]:
    """What the view's filterset declares, read the way a reader of the view would."""
    filterset = getattr(view_class, "filterset_class", None)
    if filterset is not None:
        return set(filterset.base_filters)
    return set(getattr(view_class, "filterset_fields", ()))


def test_there_are_list_endpoints_to_check():
    urls = [url for url, _view in list_endpoints()]
    assert {"/api/campaigns/", "/api/credentials/", "/api/loans/", "/api/investments/"} <= set(urls)


@pytest.mark.parametrize(("url", "view_class"), list_endpoints(), ids=[u for u, _v in list_endpoints()])
def test_every_list_refuses_an_unknown_parameter_and_names_the_accepted_ones(auth_client, url, view_class):
    operator = auth_client("operator")  # operators may read every list
    refused = operator.get(url, {"no_such_filter": "1", "page": "1"})
    assert refused.status_code == 400, (url, refused.json())
    body = refused.json()
    assert body["code"] == "unknown_query_parameter"
    assert body["unknown"] == ["no_such_filter"] and "no_such_filter" in body["message"]
    assert set(body["accepted"]) == declared_filters(view_class) | ALWAYS, url
    assert body["errors"] == {"no_such_filter": ["Unknown query parameter."]}
    # Every declared filter, the paginator's parameters and `format` pass the check.
    known = {name: "" for name in body["accepted"] if name not in ("page", "page_size", "format")}
    accepted = operator.get(url, {**known, "page": "1", "page_size": "5", "format": "json"})
    assert accepted.status_code == 200, (url, accepted.json())


def test_a_misspelt_credential_filter_no_longer_answers_with_every_credential(auth_client):
    response = auth_client("compliance").get("/api/credentials/", {"batch_id": "7"})
    assert response.status_code == 400 and response.json()["unknown"] == ["batch_id"]
    assert "status" in response.json()["accepted"] and "batch_id" not in response.json()["accepted"]


def test_several_unknown_parameters_are_all_named(auth_client):
    response = auth_client("operator").get("/api/loans/", {"statuss": "draft", "sort": "created_at"})
    assert response.status_code == 400
    assert response.json()["unknown"] == ["sort", "statuss"]
    assert "sort, statuss" in response.json()["message"]


def test_known_parameters_still_filter(auth_client):
    euro, _dollar = make_loan(currency="EUR"), make_loan(currency="USD")
    response = auth_client("operator").get("/api/loans/", {"currency": "eur", "status": "draft"})
    assert response.status_code == 200
    assert [row["loan_id"] for row in response.json()["results"]] == [euro.loan_id]


def test_detail_actions_and_writes_are_checked_too_and_nothing_happens(auth_client):
    operator = auth_client("operator")
    loan = make_loan()
    history = operator.get(f"/api/loans/{loan.loan_id}/history/", {"verbose": "1"})
    assert history.status_code == 400 and history.json()["accepted"] == ["format"]
    approve = operator.post(f"/api/loans/{loan.loan_id}/approve/?dry_run=1", {}, format="json")
    assert approve.status_code == 400 and approve.json()["unknown"] == ["dry_run"]
    loan.refresh_from_db()
    assert loan.status == LoanStatus.DRAFT and not loan.chain_transactions.exists()


def test_unknown_parameters_are_checked_after_authentication(api_client):
    assert api_client.get("/api/loans/", {"no_such_filter": "1"}).status_code == 401


# --- what a view declares is what it accepts --------------------------------------------------------


class _RangeFilter(django_filters.FilterSet):
    created = django_filters.DateFromToRangeFilter(field_name="created_at")
    amount = django_filters.RangeFilter(field_name="principal")
    status = django_filters.CharFilter()

    class Meta:
        model = Loan
        fields = ["status"]


class _LoanIdSerializer(serializers.ModelSerializer):
    class Meta:
        model = Loan
        fields = ["loan_id"]


class _ViewWithItsOwnParameters(generics.ListAPIView):
    queryset = Loan.objects.all()
    serializer_class = _LoanIdSerializer
    filterset_class = _RangeFilter
    extra_query_params = ("verify",)
    permission_classes: list = []
    authentication_classes: list = []


def test_range_filters_and_a_views_own_parameters_are_accepted():
    view = _ViewWithItsOwnParameters()
    view.request = None
    assert accepted_query_parameters(view, Loan.objects.all()) == [
        "amount_max",
        "amount_min",
        "created_after",
        "created_before",
        "format",
        "page",
        "page_size",
        "status",
        "verify",
    ]


def test_the_check_runs_before_the_filters_of_the_same_view():
    view = _ViewWithItsOwnParameters.as_view()
    factory = APIRequestFactory()
    assert view(factory.get("/x/", {"verify": "1", "created_after": "2026-01-01"})).status_code == 200
    refused = view(factory.get("/x/", {"created_from": "not a date"}))
    assert refused.status_code == 400 and refused.data["code"] == "unknown_query_parameter"
    assert KnownQueryParameters in _ViewWithItsOwnParameters.filter_backends
