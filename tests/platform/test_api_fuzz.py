"""The API fuzzed from its own OpenAPI schema (schemathesis): no 500s, every response as documented.

The schema is the one the app serves at /api/schema/; one test per operation. Each generated request
goes through the WSGI application in-process, sent by an anonymous caller or by one of the roles the
operation's view lets past its permission check. The world it meets is seeded once for the module and
is real: a company registered on anvil, an active campaign with a confirmed investment, credentials,
loans, outbox rows; generated path parameters often name one of its rows, and half the valid bodies
name its company, institution and wallets. Every request runs in a savepoint that is rolled back, so
each starts from the same world, and a request that fails inside PostgreSQL cannot poison the test's
transaction.

Checks: no server error; the documented content type and schema for every documented status; the
error envelope of API.md for every error, with a `code` the operation's schema enumerates; and
requests the schema forbids rejected, wherever the API is strict (see `_still_negative`).

The other way round, `test_valid_requests_pass_validation`: requests generated from the schema alone
(positive data) are never refused for their shape. A 400 for a value the schema allowed (a pattern,
a length, a range, an enum it failed to state) is a schema validation mismatch, and fails; refusals
the schema cannot state (a referenced row that does not exist, a business rule with its own code,
listed per operation in core/schema_errors.py) are allowed.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import sys
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

import jsonschema
import pytest
import schemathesis
from django.conf import settings as django_settings
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.urls import resolve
from django.utils import timezone
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import to_checksum_address
from hypothesis import HealthCheck, assume
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework import exceptions
from rest_framework.fields import BooleanField
from rest_framework.test import APIClient, APIRequestFactory, force_authenticate
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.meta import negated_parameters
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from accounts import services as account_services
from blockchain.chain.addresses import ZERO_ADDRESS
from blockchain.models import ChainTransaction
from campaigns import services as campaign_services
from campaigns.models import CampaignStatus, InvestmentStatus
from core.schema_errors import business_codes
from credentials import services as credential_services
from issuers import services as issuer_services
from issuers.models import Company
from loans import services as loan_services
from tests.conftest import SECRETS_USED
from tests.support.issuance import CID
from tests.support.loans import BORROWER, LENDER, make_loan
from tests.support.outbox import settle_outbox
from wallets.balances import clear_hot_cache

pytestmark = [pytest.mark.chain, pytest.mark.django_db]

ROLES = ["operator", "compliance", "issuer", "investor", "institution"]
# Examples per operation in the fuzzing phase; the coverage phase adds its own deterministic cases
# (boundary values, wrong types, missing fields) on top.
MAX_EXAMPLES = 25
SCHEMA_CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {"mode": "all", "database": "none", "deterministic": True},
        # Sequences of calls are not fuzzed: every request here is rolled back.
        "phases": {"stateful": {"enabled": False}},
    }
)

# Positive data only, for `test_valid_requests_pass_validation`. Without NUL characters: the API refuses
# them in any string of a body (PostgreSQL stores none), a rule the schema states once (the
# `nul_character` code of every operation with a body) rather than on each string.
POSITIVE_CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {"mode": "positive", "database": "none", "deterministic": True, "allow-x00": False},
        "phases": {"stateful": {"enabled": False}},
    }
)


def _eth_addresses():
    """`format: eth-address` (blockchain/chain/fields.py): any 20 bytes but zero, spelled all lower
    case, all upper case or EIP-55 checksummed, the spellings the API accepts; a pattern cannot say
    which mixed-case spellings are checksums."""
    raw = (
        st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex()).filter(lambda a: a != ZERO_ADDRESS)
    )
    return st.one_of(
        raw,
        raw.map(lambda a: "0x" + a[2:].upper()),
        raw.map(to_checksum_address),
    )


schemathesis.openapi.format("eth-address", _eth_addresses())

# API.md, "Errors": every error body is JSON with a human message and a stable machine code;
# validation errors add per-field messages.
ERROR_ENVELOPE = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {
        "code": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
        "message": {"type": "string", "minLength": 1},
        "errors": {"type": "object"},
    },
}


def error_envelope(ctx, response, case) -> None:
    """Every 4xx and 5xx answer is the JSON error envelope of API.md."""
    if response.status_code < 400:
        return
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.startswith("application/json"), f"an error answered as {content_type!r}"
    jsonschema.validate(response.json(), ERROR_ENVELOPE)


def negative_data_rejected(ctx, response, case) -> None:
    """A request the schema forbids is rejected with a 4xx, wherever the API is strict about it."""
    meta = case.meta
    if meta is not None and meta.generation.mode.is_negative and _still_negative(case):
        negative_data_rejection(ctx, response, case)


def _still_negative(case) -> bool:
    """Whether a negative case still breaks the schema where the API is strict. Not strict, on
    purpose: form-encoded bodies (there DRF reads an empty string for an optional field as absent);
    in the query, parameters it does not declare (ignored), an empty filter (django-filter: no
    filter) and a bad `page_size` (DRF: the default page size); and the credential headers and
    cookies (an unknown Authorization scheme is left for another authenticator; test_auth_api covers
    them). Nor is a path whose generated value the `flatmap_path_parameters` hook replaced with a
    real row."""
    locations = {location for location, info in case.meta.components.items() if info.mode.is_negative}
    declared = {parameter.name for parameter in case.operation.query}
    query = case.query or {}
    bad_query = {
        name
        for name, location in negated_parameters(case.meta)
        if location == ParameterLocation.QUERY and name in declared
    }
    real_values = {str(value) for value in WORLD.values_for(case.operation.path)}
    strict = {
        ParameterLocation.BODY: case.media_type == "application/json" and not _lenient_only(case),
        ParameterLocation.PATH: not {str(v) for v in (case.path_parameters or {}).values()} <= real_values,
        ParameterLocation.QUERY: any(
            name != "page_size" and query.get(name) not in ("", [""]) for name in bad_query
        ),
    }
    return any(strict.get(location, False) for location in locations)


def _lenient_only(case) -> bool:
    """Whether the body breaks the schema only where DRF is lenient on purpose, as it is for HTML
    forms: a boolean given 0, 1, "true", "no", ...; a string (text, a decimal) given a JSON number. Judged by
    the body with those values spelled as the schema asks: if that one is valid, the API was right to
    accept this one."""
    raw = case.operation.schema.raw_schema
    request_body = case.operation.definition.raw.get("requestBody", {})
    schema = request_body.get("content", {}).get("application/json", {}).get("schema")
    if schema is None or not isinstance(case.body, dict):
        return False
    root = {**schema, "components": raw.get("components", {})}
    resolved = schema
    if "$ref" in schema:
        resolved = raw["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    properties = resolved.get("properties", {})
    lenient = BooleanField.TRUE_VALUES | BooleanField.FALSE_VALUES
    spelled, changed = dict(case.body), False
    for name, value in case.body.items():
        kind = properties.get(name, {})
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            continue
        if kind.get("type") == "boolean" and value in lenient:
            spelled[name], changed = value in BooleanField.TRUE_VALUES, True
        elif kind.get("type") == "string" and isinstance(value, (int, float)):  # CharField, DecimalField
            spelled[name], changed = str(value), True
    if not changed:
        return False
    try:
        jsonschema.validate(spelled, root)
    except jsonschema.ValidationError:
        return False
    return True


# Not `status_code_conformance`: the schema documents each operation's successes (and a few 409s),
# not the 400/401/403/404 that every operation may answer; `error_envelope` checks those bodies.
# Not `positive_data_acceptance`: a request the schema allows may still break a business rule.
CHECKS = [
    not_a_server_error,
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
    error_envelope,
    negative_data_rejected,
]


@dataclass
class World:
    """The seeded rows: users by role, and real values for path parameters by path prefix."""

    users: dict = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    path_values: dict[str, list] = field(default_factory=dict)
    body_values: dict[str, object] = field(default_factory=dict)

    def values_for(self, path: str) -> list:
        return next((values for prefix, values in self.path_values.items() if path.startswith(prefix)), [])


WORLD = World()


@contextmanager
def requests_keep_the_test_connection():
    """Django closes "old" database connections around every request it handles; inside a test's
    transaction that would close the connection the test runs on (the test client disconnects the
    same handler)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@contextmanager
def rolled_back():
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def _bind_wallet(user) -> str:
    wallet = Account.create()
    challenge = account_services.issue_wallet_challenge(user=user, address=wallet.address)
    signature = wallet.sign_message(encode_defunct(text=challenge.message)).signature.hex()
    account_services.bind_wallet(
        user=user, message=challenge.message, signature="0x" + signature.removeprefix("0x")
    )
    return wallet.address


def _seed_world() -> None:
    users = {
        role: account_services.create_user(username=f"fuzz-{role}", role=role, password=None)
        for role in ROLES
    }
    officer, operator, issuer, investor = (users[r] for r in ("compliance", "operator", "issuer", "investor"))

    institution = credential_services.upsert_institution(
        address=Account.create().address, name="Fuzz KYC Provider", kyc_provider=True
    )
    institution.members.add(users["institution"])
    settle_outbox()
    wallet = _bind_wallet(investor)
    campaign_services.update_profile(user=investor, annual_income="200000", net_worth="200000", country="DE")
    kyc = credential_services.issue_credential(
        actor=None,
        institution=institution,
        subject_wallet=wallet,
        credential_type="kyc",
        document={"kyc": "passed", "wallet": wallet},
    )
    diploma = credential_services.issue_credential(
        actor=users["institution"],
        institution=institution,
        subject_wallet=Account.create().address,
        credential_type="diploma",
        document={"degree": "BSc", "holder": "fuzz"},
    )

    company = Company.objects.create(
        owner=issuer,
        legal_name="Fuzz Robotics AG",
        registration_number="CHE-FUZZ-1",
        country="CH",
        wallet_address=Account.create().address,
        document_cid=CID,
    )
    issuer_services.review_company(company=company, officer=officer, decision="approve")
    settle_outbox()
    start = timezone.now() - timedelta(seconds=1)
    terms = {"goal": "1000", "hard_cap": "10000", "min_investment": "10", "share_price": "1"}
    campaign = campaign_services.create_campaign(
        actor=issuer,
        issuer=company,
        title="Fuzz Series A",
        starts_at=start,
        ends_at=start + timedelta(days=30),
        **terms,
    )
    campaign_services.submit_campaign(campaign=campaign, actor=issuer)
    campaign_services.review_campaign(campaign=campaign, officer=officer, decision="approve")
    settle_outbox()
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.ACTIVE, campaign.last_chain_error
    draft = campaign_services.create_campaign(
        actor=issuer,
        issuer=company,
        title="Fuzz Series B",
        starts_at=start + timedelta(days=400),
        ends_at=start + timedelta(days=430),
        **terms,
    )
    investment = campaign_services.invest(campaign=campaign, investor=investor, amount="100")
    draft_loan = make_loan(actor=operator)
    anchored_loan = loan_services.approve_loan(loan=make_loan(actor=operator), actor=operator)
    settle_outbox()
    investment.refresh_from_db()
    assert investment.status == InvestmentStatus.CONFIRMED, investment.last_chain_error

    WORLD.users = users
    WORLD.tokens = {role: str(RefreshToken.for_user(user).access_token) for role, user in users.items()}
    WORLD.path_values = {
        "/api/campaigns/": [campaign.pk, draft.pk],
        "/api/investments/": [investment.pk],
        "/api/issuers/": [company.pk],
        "/api/credentials/": [kyc.pk, diploma.pk],
        # Numeric ids answer the world's users who may see them (else 404); share ids anyone.
        "/api/blockchain/status/": [kyc.pk, diploma.pk, kyc.share_id, diploma.share_id],
        "/api/blockchain/transactions/": list(
            ChainTransaction.objects.order_by("pk").values_list("pk", flat=True)
        ),
        "/api/loans/": [draft_loan.loan_id, anchored_loan.loan_id],
        "/api/institutions/": [institution.address],
        "/api/wallets/": [wallet],
    }
    WORLD.body_values = {
        "issuer": company.pk,
        "institution": institution.address,
        "subject_wallet": wallet,
        "borrower_wallet": BORROWER,
        "lender_wallet": LENDER,
        "wallet_address": Account.create().address,
        "address": Account.create().address,
        "currency": "USD",
        "country": "DE",
        **terms,
        "principal": "250000.00",
        "amount": "100",
    }


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, anvil_node, deployed_suite):
    """The world, seeded once: in a transaction (and an anvil snapshot) undone after the module.
    Each test's own transaction is a savepoint inside it."""
    from contracts.deployment import record_suite

    snapshot = anvil_node.snapshot()
    try:
        with django_db_blocker.unblock(), transaction.atomic():
            record_suite(chain_id=django_settings.CHAIN_ID, deployed=deployed_suite)
            _seed_world()
            yield WORLD
            transaction.set_rollback(True)
    finally:
        anvil_node.set_automine(True)
        assert anvil_node.revert(snapshot), "evm_revert failed: later tests would see the fuzzed world"
        clear_hot_cache()  # balances read from the world's chain


@pytest.fixture(autouse=True)
def quiet_and_unthrottled(settings):
    """Thousands of expected 4xx answers are not worth a log line each (5xx still are); rate limits
    would answer 429 long before the fuzzer is done (tests/platform/test_throttling.py covers them).
    The passwords the fuzzer sends are not secrets: the end-of-run log check must not look for them
    (a generated "00000000" would match any long run of zeros)."""
    settings.THROTTLE_RATES = {}
    settings.CREDENTIAL_CHAIN_CACHE_SECONDS = 0  # no verification of the world's chain outlives it
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # sign-in tries: fast
    request_logger = logging.getLogger("django.request")
    level = request_logger.level
    request_logger.setLevel(logging.ERROR)
    recorded = set(SECRETS_USED)
    with requests_keep_the_test_connection():
        yield
    request_logger.setLevel(level)
    SECRETS_USED.intersection_update(recorded)


def _load_schema(config=SCHEMA_CONFIG, raw=None):
    from config.wsgi import application

    if raw is None:
        with requests_keep_the_test_connection():
            loaded = schemathesis.openapi.from_wsgi("/api/schema/", application, config=config)
    else:
        loaded = schemathesis.openapi.from_dict(copy.deepcopy(raw), config=config)
        loaded.app = application

    @loaded.hook
    def flatmap_path_parameters(ctx, path_parameters):
        """Often name a row of the world (the first branch: Hypothesis starts from it), else any."""
        values = WORLD.values_for(ctx.operation.path)
        if not path_parameters or not values:
            return st.just(path_parameters)
        name = next(iter(path_parameters))
        real = st.sampled_from(values).map(lambda value: {**path_parameters, name: value})
        return st.one_of(real, st.just(path_parameters))

    return loaded


schema = _load_schema()
positive_schema = _load_schema(POSITIVE_CONFIG, raw=schema.raw_schema)
_callers_by_operation: dict[str, list[str]] = {}


def _content_hash(case) -> int:
    content = repr((case.path_parameters, case.query, case.headers, case.cookies, case.media_type, case.body))
    return zlib.crc32(content.encode("utf-8", "backslashreplace"))


def with_world_references(case) -> None:
    """Half the valid bodies that name a company, an institution, a wallet, a currency, a country or
    an amount name one the world has (or a fresh address, an amount that fits), so that requests get
    past "does not exist", checksums and decimal places into the services. Chosen by the request's
    content, like the caller."""
    body_is_positive = case.meta is not None and not case.meta.is_negative_at(ParameterLocation.BODY)
    if body_is_positive and isinstance(case.body, dict) and _content_hash(case) % 2:
        case.body = _referencing(case.body)


def _referencing(value):
    if isinstance(value, dict):
        return {key: WORLD.body_values.get(key, _referencing(item)) for key, item in value.items()}
    if isinstance(value, list):
        return [_referencing(item) for item in value]
    return value


def caller_of(case) -> str:
    """Who sends this request: one of the callers the operation's view lets in, or now and then an
    anonymous one it turns away. Chosen by the request's content, so a failing example shrinks and
    replays as the same caller."""
    admitted, content_hash = callers(case.operation), _content_hash(case)
    if not admitted or ("anonymous" not in admitted and content_hash % 8 == 0):
        return "anonymous"
    return admitted[content_hash // 8 % len(admitted)]


def callers(operation) -> list[str]:
    """The callers (anonymous and the roles) that get past the operation's permission check: only
    anonymous when the view authenticates nobody. A role it turns away would only ever get a 403."""
    label = operation.label
    if label not in _callers_by_operation:
        values = WORLD.values_for(operation.path)
        # The first path parameter names a world row; any later one (a member's id) any integer.
        fillers = iter([values[0] if values else 1])
        path = re.sub(r"\{[^}]+\}", lambda _: str(next(fillers, 1)), operation.path)
        match = resolve(path)
        admitted = []
        for role in ["anonymous", *WORLD.users]:
            request = APIRequestFactory().generic(operation.method.upper(), path)
            if role != "anonymous":
                force_authenticate(request, user=WORLD.users[role])
            view = match.func.cls(**match.func.initkwargs)
            view.action_map = getattr(match.func, "actions", {})
            view.args, view.kwargs, view.format_kwarg = match.args, match.kwargs, None
            view.request = view.initialize_request(request, *match.args, **match.kwargs)
            if not view.get_authenticators():
                admitted = ["anonymous"]
                break
            try:
                view.check_permissions(view.request)
            except (exceptions.NotAuthenticated, exceptions.PermissionDenied):
                continue
            admitted.append(role)
        _callers_by_operation[label] = admitted
    return _callers_by_operation[label]


@schema.parametrize()
@hypothesis_settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_as_documented(case, world):
    with_world_references(case)
    role = caller_of(case)
    headers = {"Authorization": f"Bearer {world.tokens[role]}"} if role != "anonymous" else {}
    with rolled_back():
        response = case.call(headers=headers)
    try:
        case.validate_response(response, checks=CHECKS, headers=headers)
    except FailureGroup as exc:  # the report's curl line hides the token: say whose it was
        raise FailureGroup(list(exc.exceptions), f"Sent as: {role}\n{exc.message}") from None


# The codes of a refusal for a value's shape: what a field, a parser or a header check answers when a
# value is not of the type, length, range, pattern or set of values it accepts. A schema that allows
# the value should have said so. `invalid` is one of them, except where an operation documents it as
# one of its business rules (core/schema_errors.py).
SHAPE_CODES = {
    "invalid",
    "required",
    "null",
    "blank",
    "empty",
    "max_length",
    "min_length",
    "max_value",
    "min_value",
    "max_digits",
    "max_decimal_places",
    "max_whole_digits",
    "max_string_length",
    "invalid_choice",
    "not_a_list",
    "not_a_dict",
    "incorrect_type",
    "date",
    "datetime",
    "make_aware",
    "overflow",
    "parse_error",
    "unsupported_media_type",
    "nul_character",
    "invalid_address",
    "unknown_country",
    "unknown_currency",
    "unknown_query_parameter",
    "invalid_idempotency_key",
}
# Referenced rows that do not exist: the schema can say an id is an integer, not that it exists.
REFERENCE_CODES = {"does_not_exist", "invalid_pk_value"}
REFERENCES = ("issuer", "institution")


def refused_for_its_shape(case, response) -> str | None:
    """Why `response` refuses a request the schema allowed for the request's shape, else None."""
    if response.status_code not in (400, 422):
        return None
    body = response.json()
    code = body.get("code")
    operation_id = case.operation.definition.raw["operationId"]
    if code in REFERENCE_CODES or code in business_codes(operation_id, str(response.status_code)):
        return None
    if code == "invalid_choice" and set(body.get("errors", {})) <= _reference_parameters(case.operation):
        return None  # a filter naming a row (`?issuer=7`) that does not exist
    if code in SHAPE_CODES or code not in _documented_codes(case.operation, response.status_code):
        return f"{code}: {body.get('errors') or body.get('message')}"
    return None


def _reference_parameters(operation) -> set[str]:
    """Query parameters that name a row by its id (integers without an enum)."""
    return {
        parameter.name
        for parameter in operation.query
        if parameter.definition.get("schema", {}).get("type") == "integer"
        and parameter.name not in ("page", "page_size")
    }


def _documented_codes(operation, status: int) -> set[str]:
    response = operation.definition.raw["responses"].get(str(status), {})
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return {
        code
        for part in schema.get("allOf", [])
        for code in part.get("properties", {}).get("code", {}).get("enum", [])
    }


def with_references(case) -> None:
    """Half the valid bodies name the world's company and institution (by the request's content, like
    the caller), so that the rest of the body is judged too; every other value stays as generated."""
    if isinstance(case.body, dict) and _content_hash(case) % 2:
        case.body = {
            key: WORLD.body_values[key] if key in REFERENCES else value for key, value in case.body.items()
        }


@positive_schema.parametrize()
@hypothesis_settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_valid_requests_pass_validation(case, world):
    """A request made of values the schema allows is never refused for its shape (no "schema
    validation mismatch"): the schema states every pattern, length, range and set of values the API
    validates by. It may still be refused by a business rule, for a referenced row that does not
    exist, or for the caller (401, 403, 404, 409 with the operation's documented codes)."""
    # NUL is refused in any string of a body, the one rule stated once for every operation (its
    # `nul_character` code) instead of on each string; `allow-x00` keeps it out of generated values,
    # not out of the names of properties the schema leaves open.
    assume(not isinstance(case.body, (dict, list)) or "\\u0000" not in json.dumps(case.body))
    with_references(case)
    role = caller_of(case)
    headers = {"Authorization": f"Bearer {world.tokens[role]}"} if role != "anonymous" else {}
    with rolled_back():
        response = case.call(headers=headers)
    case.validate_response(response, checks=[not_a_server_error], headers=headers)
    reason = refused_for_its_shape(case, response)
    assert reason is None, (
        f"{case.operation.label} refused a request its schema allows ({response.status_code} {reason})\n"
        f"Sent as: {role}\npath: {case.path_parameters} query: {case.query} headers: {case.headers}\n"
        f"body: {case.body!r}"
    )


# What the fuzzing found, pinned down: each was a 500 (or a schema lie) before its fix.
FOUND = [
    # PostgreSQL refuses UTC offsets beyond ±15:59 that Python parses: compared in UTC now.
    ("operator", "get", "/api/loans/?created_after=0904-10-25T03:01:23%2B21:21", None, 200),
    ("operator", "get", "/api/loans/?created_before=0001-01-01T00:00:00%2B01:00", None, 400),
    # A non-numeric id reached Credential.objects.filter(pk=...).
    ("operator", "post", "/api/credentials/null,null/revoke/", {"reason": "x"}, 404),
    # An on-chain id beyond uint256 was sent to the chain: "chain unavailable" (503).
    ("anonymous", "get", f"/api/blockchain/status/{2**256}/?onchain=1", None, 400),
    ("anonymous", "post", "/api/blockchain/verify/", {"onchain_id": 2**256}, 400),
    ("anonymous", "get", "/api/blockchain/status/1/?onchain=maybe", None, 400),
    ("operator", "get", "/api/wallets/{wallet}/balances/?verify=maybe", None, 400),
    # jsonb holds no NUL character.
    (
        "operator",
        "post",
        "/api/credentials/issue/",
        {
            "institution": "{institution}",
            "subject_wallet": "{wallet}",
            "credential_type": "diploma",
            "document": {"name": "a\x00b"},
        },
        400,
    ),
    (
        "operator",
        "post",
        "/api/credentials/batch/",
        {
            "institution": "{institution}",
            "credentials": [
                {"subject_wallet": "{wallet}", "credential_type": "diploma", "document": {"\x00": 1}}
            ],
        },
        400,
    ),
    # starts_at + 21 days overflowed past year 9999.
    (
        "issuer",
        "post",
        "/api/campaigns/",
        {
            "issuer": "{issuer}",
            "title": "Late",
            "goal": "1",
            "hard_cap": "2",
            "min_investment": "1",
            "share_price": "1",
            "starts_at": "9999-12-31T00:00:00Z",
            "ends_at": "9999-12-31T23:59:59Z",
        },
        400,
    ),
]


def _filled(value, world):
    """The world's {wallet}, {institution} and {issuer} in every string of `value`."""
    if isinstance(value, str):
        return value.format(
            wallet=world.path_values["/api/wallets/"][0],
            institution=world.body_values["institution"],
            issuer=world.body_values["issuer"],
        )
    if isinstance(value, dict):
        return {_filled(key, world): _filled(item, world) for key, item in value.items()}
    if isinstance(value, list):
        return [_filled(item, world) for item in value]
    return value


@pytest.mark.parametrize(("role", "method", "path", "body", "expected"), FOUND)
def test_what_fuzzing_found_stays_fixed(world, role, method, path, body, expected):
    client = APIClient()
    if role != "anonymous":
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {world.tokens[role]}")
    response = getattr(client, method)(_filled(path, world), _filled(body, world), format="json")
    assert response.status_code == expected, response.content
    if expected >= 400:
        jsonschema.validate(response.json(), ERROR_ENVELOPE)


def test_deeply_nested_json_is_a_400_and_never_kills_the_process(world):
    """With the recursion limit py_ecc sets on import (100,000), this body overflowed the C stack in
    json.loads and the process died (blockchain/apps.py puts the limit back)."""
    assert sys.getrecursionlimit() <= 10_000
    body = '{"username": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = APIClient().post("/api/auth/token/", body, content_type="application/json")
    assert response.status_code == 400, response.content
