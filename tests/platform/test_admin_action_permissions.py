"""The admin's permission matrix: every admin action declares the permission its API twin requires,
and each staff role sees (and can run) exactly the actions of this table. Django runs an action that
declares no `permissions` for anyone who may view the model, so a new action without a row here, or
without a declaration, fails this module."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import RequestFactory
from django.urls import reverse

from blockchain.models import ChainTransaction
from loans.models import Loan, LoanStatus
from tests.support.loans import make_loan

pytestmark = pytest.mark.django_db

STAFF_ROLES = ("compliance", "operator")

# (app_label.model, action) → the staff roles that may run it (a superuser may run all of them).
EXPECTED: dict[tuple[str, str], set[str]] = {
    ("loans.loan", "approve"): {"operator"},
    ("loans.loan", "requeue_anchoring"): {"operator"},
    ("loans.loan", "mark_repaid"): {"operator"},
    ("loans.loan", "verify_on_chain"): {"operator", "compliance"},
    ("blockchain.chaintransaction", "retry_failed"): {"operator"},
    ("blockchain.chaintransaction", "rebroadcast"): {"operator"},
    ("campaigns.sharecertificate", "retry_failed"): {"operator"},
    ("campaigns.campaign", "approve"): {"compliance"},
    ("campaigns.campaign", "reject"): {"compliance"},
    ("campaigns.campaign", "request_changes"): {"compliance"},
    ("campaigns.campaign", "cancel"): {"compliance"},
    ("campaigns.investment", "release"): {"compliance"},
    ("campaigns.investment", "reject"): {"compliance"},
    ("issuers.company", "approve_kyb"): {"compliance"},
    ("issuers.company", "reject_kyb"): {"compliance"},
    ("credentials.credential", "revoke"): {"operator"},
    ("audit.auditevent", "export_selected_csv"): {"operator", "compliance"},
    ("django_celery_beat.periodictask", "enable_tasks"): {"operator"},
    ("django_celery_beat.periodictask", "disable_tasks"): {"operator"},
    ("django_celery_beat.periodictask", "toggle_tasks"): {"operator"},
    ("django_celery_beat.periodictask", "run_tasks"): {"operator"},
    ("webhooks.webhookendpoint", "rotate_secrets"): {"operator"},
    ("webhooks.webhookdelivery", "redeliver"): {"operator"},
}


def label(model_admin) -> str:
    return model_admin.model._meta.label_lower


def declared_actions():
    """Every (model admin, action name, function) of the site, before any permission filtering."""
    for model_admin in admin.site._registry.values():
        for func, name, _description in model_admin._get_base_actions():
            yield model_admin, name, func


def allowed_for(user) -> set[tuple[str, str]]:
    request = RequestFactory().get("/admin/")
    request.user = user
    return {
        (label(model_admin), name)
        for model_admin in admin.site._registry.values()
        for name in model_admin.get_actions(request)
    }


def test_every_admin_action_declares_its_permissions():
    undeclared = [
        (label(m), name)
        for m, name, func in declared_actions()
        if not getattr(func, "allowed_permissions", ())
    ]
    assert not undeclared, f"admin actions without permissions=[…]: {undeclared}"


def test_every_custom_admin_action_has_a_row_in_the_matrix():
    custom = {(label(m), name) for m, name, _f in declared_actions() if name != "delete_selected"}
    missing, stale = sorted(custom - set(EXPECTED)), sorted(set(EXPECTED) - custom)
    assert not missing and not stale, f"missing rows: {missing}; rows for no action: {stale}"


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_each_staff_role_gets_exactly_its_actions(role, make_user):
    user, _ = make_user(role)
    assert user.is_staff
    allowed = {key for key in allowed_for(user) if key[1] != "delete_selected"}
    assert allowed == {key for key, roles in EXPECTED.items() if role in roles}


# Bulk delete: only the screening lists compliance keeps and the webhook endpoints operators
# configure; nothing of the ledger.
DELETABLE = {
    ("campaigns.countryrestriction", "delete_selected"): {"compliance"},
    ("campaigns.sanctionedwallet", "delete_selected"): {"compliance"},
    ("webhooks.webhookendpoint", "delete_selected"): {"operator"},
}


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_bulk_delete_only_of_screening_lists_and_webhook_endpoints(role, make_user):
    user, _ = make_user(role)
    deletable = {key for key in allowed_for(user) if key[1] == "delete_selected"}
    assert deletable == {key for key, roles in DELETABLE.items() if role in roles}


def test_a_superuser_gets_every_custom_action(django_user_model):
    root = django_user_model.objects.create_superuser("root", "root@example.com", "x" * 16)
    assert set(EXPECTED) <= allowed_for(root)


@pytest.mark.parametrize("role", ("investor", "issuer", "institution"))
def test_non_staff_roles_cannot_reach_the_admin(role, make_user, client):
    user, _ = make_user(role)
    client.force_login(user)
    response = client.get(reverse("admin:loans_loan_changelist"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def run_loan_action(client, action: str, loan: Loan):
    return client.post(
        reverse("admin:loans_loan_changelist"),
        {"action": action, ACTION_CHECKBOX_NAME: [loan.pk], "index": 0},
        follow=True,
    )


def test_a_compliance_officer_cannot_approve_a_loan_in_the_admin(make_user, client):
    """The API refuses loan approval to compliance (operator only); the admin now does too."""
    officer, _ = make_user("compliance")
    loan = make_loan()
    client.force_login(officer)
    response = run_loan_action(client, "approve", loan)
    assert response.status_code == 200
    loan.refresh_from_db()
    assert loan.status == LoanStatus.DRAFT
    assert not ChainTransaction.objects.exists()


@pytest.mark.chain
def test_an_operator_approves_a_loan_in_the_admin(contracts, make_user, client):
    operator, _ = make_user("operator")
    loan = make_loan()
    client.force_login(operator)
    run_loan_action(client, "approve", loan)
    loan.refresh_from_db()
    assert loan.status == LoanStatus.ANCHORING
    assert ChainTransaction.objects.filter(kind="loans.store_loan").count() == 1
