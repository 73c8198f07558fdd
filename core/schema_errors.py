"""Every error `code` an operation may answer, by status, for the OpenAPI schema (core.schema).

An operation's codes are the union of:

- the codes any request may get (GENERIC below: a bad token, a missing permission, throttling, an
  Idempotency-Key in flight, ...), by what the operation is (authenticated, unsafe, with a body);
- the codes its request serializer's fields validate with (`required`, `max_length`, `invalid`, ...),
  read from the fields themselves by core.schema;
- its own business-rule refusals, listed in OPERATIONS by operationId: the codes the services and
  views it calls raise (DomainError, StateConflict, NotAllowed, NotFound, and serializer `validate_*`
  methods). A code missing here makes the schemathesis run fail when the API answers it
  (tests/platform/test_api_fuzz.py validates every response against the schema).

`invalid` in a 400 is the code of a field that does not validate; an operation lists it among its
own codes only where a business rule (a rule between fields, or one the schema cannot state) also
answers `invalid`. The positive-data test treats such an `invalid` as a business refusal.
"""

from __future__ import annotations

UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")

# What a code means, where the code alone does not say it (added to the response's description).
DESCRIPTIONS = {
    "idempotency_in_progress": "a request with this Idempotency-Key is still running; retry after "
    "`Retry-After` seconds",
    "idempotency_key_reused": "this Idempotency-Key was used with a different request; use a new key",
    "invalid_idempotency_key": "the Idempotency-Key header is not 1 to 255 printable ASCII characters",
    "nul_character": "a string in the body contains NUL (U+0000), which no field accepts",
    "unknown_query_parameter": "a query parameter this operation does not read",
    "does_not_exist": "a referenced row (a company, an institution) does not exist",
    "not_a_member": "the user is not a member of the institution",
}

_WALLET_PROOF = [
    "malformed_message",
    "address_mismatch",
    "domain_mismatch",
    "chain_mismatch",
    "invalid_signature",
    "unknown_challenge",
    "challenge_expired",
    "challenge_not_yet_valid",
    "signature_mismatch",
]

# Business-rule refusals by operationId and status.
OPERATIONS: dict[str, dict[str, list[str]]] = {
    # accounts
    "auth_register_create": {"400": ["username_taken", "email_taken", "invalid"], "409": ["user_exists"]},
    "auth_token_create": {"401": ["no_active_account"]},
    "auth_token_refresh_create": {"401": ["token_not_valid", "token_revoked"]},
    "auth_logout_create": {"401": ["token_not_valid"]},
    "auth_wallet_verify_create": {"400": _WALLET_PROOF, "409": ["challenge_used", "wallet_taken"]},
    "auth_me_profile_partial_update": {},
    # issuers
    "issuers_create": {
        "400": ["wallet_not_proven", "duplicate_company", "duplicate_wallet", "invalid"],
    },
    "issuers_partial_update": {
        "400": ["wallet_not_proven", "duplicate_company", "duplicate_wallet", "invalid"],
        "409": ["company_approved"],
    },
    "issuers_review_create": {"400": ["invalid", "invalid_decision"], "409": ["invalid_transition"]},
    "issuers_register_create": {"409": ["invalid_transition"]},
    # campaigns and investments
    "campaigns_create": {"400": ["invalid", "does_not_exist"]},
    "campaigns_partial_update": {"400": ["invalid"], "409": ["invalid_transition"]},
    "campaigns_submit_create": {
        "409": [
            "invalid_transition",
            "issuer_not_registered",
            "campaign_ended",
            "campaign_in_progress",
            "campaign_within_12_months",
            "annual_cap_exceeded",
        ]
    },
    "campaigns_review_create": {
        "400": ["invalid", "invalid_decision"],
        "409": ["invalid_transition", "campaign_ended"],
    },
    "campaigns_deploy_create": {"409": ["invalid_transition", "campaign_ended"]},
    "campaigns_close_create": {"409": ["invalid_transition", "too_early_to_close", "goal_not_met"]},
    "campaigns_cancel_create": {"409": ["invalid_transition"]},
    "campaigns_investments_create": {
        "400": ["below_minimum", "below_one_share", "invalid"],
        "409": ["wallet_not_bound", "campaign_not_open", "hard_cap_exceeded", "investment_limit_exceeded"],
    },
    "investments_cancel_create": {"409": ["cancellation_closed", "campaign_not_open", "invalid_transition"]},
    "investments_review_create": {
        "400": ["invalid", "invalid_decision"],
        "409": ["invalid_transition", "campaign_not_open"],
    },
    # credentials
    "institutions_create": {"400": ["invalid"]},
    "institutions_members_create": {"400": ["invalid", "member_not_eligible", "unknown_user"]},
    "institutions_members_destroy": {"404": ["not_a_member"]},
    "credentials_issue_create": {
        "400": ["invalid", "does_not_exist"],
        "409": ["institution_inactive", "duplicate_credential"],
    },
    "credentials_batch_create": {
        "400": ["invalid", "does_not_exist"],
        "409": ["institution_inactive", "duplicate_credential"],
    },
    "credentials_revoke_create": {"400": ["invalid"], "409": ["invalid_transition"]},
    "credentials_proof_retrieve": {"409": ["not_anchored", "document_unknown"]},
    "blockchain_verify_create": {"400": ["invalid"]},
    "blockchain_status_retrieve": {"400": ["invalid"]},  # ?onchain=1 with a share id
    # loans
    "loans_create": {"400": ["invalid", "duplicate_loan_id"]},
    "loans_partial_update": {"400": ["invalid", "duplicate_loan_id"], "409": ["loan_terms_frozen"]},
    "loans_approve_create": {"409": ["invalid_transition", "loan_tampered"]},
    "loans_blockchain_store_create": {"409": ["invalid_transition", "loan_tampered"]},
    "loans_blockchain_mark_repaid_create": {"400": ["invalid"], "409": ["invalid_transition"]},
    "loans_mark_defaulted_create": {"409": ["invalid_transition"]},
    # chain
    "blockchain_transactions_retry_create": {"409": ["not_failed"]},
    "blockchain_transactions_rebroadcast_create": {"409": ["not_in_flight"]},
    "wallets_balances_list": {"400": ["invalid"]},
    # webhooks (the webhooks app's own refusals)
    "webhooks_endpoints_create": {"400": ["unsafe_url"]},
    "webhooks_endpoints_partial_update": {"400": ["unsafe_url"]},
    "webhooks_deliveries_redeliver_create": {"409": ["endpoint_inactive"]},
    # ?endpoint= is a number: out of range or not one is the filter's own refusal
    "webhooks_deliveries_list": {"400": ["invalid", "min_value", "max_value", "invalid_choice"]},
}

# Refusals an operation's request may get whatever it is, by status.
AUTH_CODES = [
    "not_authenticated",
    "authentication_failed",
    "token_not_valid",
    "token_revoked",
    "user_not_found",
    "user_inactive",
    "password_changed",
    "bad_authorization_header",
]


def codes_for(
    operation_id: str,
    *,
    method: str,
    authenticated: bool,
    has_body: bool,
    has_query: bool,
    field_codes: set[str],
) -> dict[str, set[str]]:
    """The codes of each error status `operation_id` may answer (a status with none is left as is)."""
    unsafe = method in UNSAFE_METHODS
    codes: dict[str, set[str]] = {
        "400": {"invalid", "unknown_query_parameter"},
        "401": set(AUTH_CODES) if authenticated else set(),
        "403": {"permission_denied"},
        "404": {"not_found"},
        "405": {"method_not_allowed"},
        "409": set(),
        "415": {"unsupported_media_type"},
        "422": set(),
        "429": {"throttled"},
        "503": {"chain_unavailable", "not_configured"},
    }
    if has_body:
        codes["400"] |= field_codes | {"parse_error", "nul_character"}
    if has_query:  # filters: a value not among a choice filter's, a row that does not exist
        codes["400"] |= {"invalid_choice", "overflow"}
    if unsafe:
        codes["400"].add("invalid_idempotency_key")
        codes["409"].add("idempotency_in_progress")
        codes["422"].add("idempotency_key_reused")
    for status, own in OPERATIONS.get(operation_id, {}).items():
        codes.setdefault(status, set()).update(own)
    return {status: found for status, found in codes.items() if found}


def business_codes(operation_id: str, status: str) -> set[str]:
    """The operation's own refusals with `status` (the positive-data test accepts these)."""
    return set(OPERATIONS.get(operation_id, {}).get(status, []))


OPERATION_CODES = {"_descriptions": DESCRIPTIONS}
