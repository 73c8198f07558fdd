"""OpenAPI links: where one operation's answer supplies the ids of another's path (or body).

Keyed by the operationId and status of the answer; each link names the operation it leads to and
where its parameters come from (runtime expressions, OpenAPI 3.0 §4.7.20.4). Generated clients and
stateful testers (schemathesis) follow them: create a campaign, then read, submit or deploy it.
"""

from __future__ import annotations


def _by_id(*operation_ids: str, parameter: str = "id", source: str = "$response.body#/id") -> dict:
    return {
        operation_id: {"operationId": operation_id, "parameters": {parameter: source}}
        for operation_id in operation_ids
    }


CAMPAIGN = _by_id(
    "campaigns_retrieve",
    "campaigns_partial_update",
    "campaigns_submit_create",
    "campaigns_review_create",
    "campaigns_deploy_create",
    "campaigns_close_create",
    "campaigns_cancel_create",
    "campaigns_investments_create",
    "campaigns_reviews_list",
)
INVESTMENT = _by_id("investments_retrieve", "investments_cancel_create", "investments_review_create")
ISSUER = _by_id(
    "issuers_retrieve",
    "issuers_partial_update",
    "issuers_review_create",
    "issuers_register_create",
    "issuers_reviews_list",
)
CREDENTIAL = {
    **_by_id("credentials_retrieve", "credentials_revoke_create"),
    **_by_id("credentials_proof_retrieve", parameter="credential_id"),
    **_by_id("blockchain_status_retrieve", parameter="credential_id"),
}
INSTITUTION = _by_id(
    "institutions_retrieve",
    "institutions_members_list",
    "institutions_members_create",
    parameter="address",
    source="$response.body#/address",
)
LOAN = _by_id(
    "loans_retrieve",
    "loans_partial_update",
    "loans_approve_create",
    "loans_blockchain_store_create",
    "loans_blockchain_status_retrieve",
    "loans_blockchain_verify_retrieve",
    "loans_blockchain_mark_repaid_create",
    "loans_mark_defaulted_create",
    "loans_history_list",
    parameter="loan_id",
    source="$response.body#/loan_id",
)
WALLET_VERIFY = {
    "auth_wallet_verify_create": {
        "operationId": "auth_wallet_verify_create",
        "description": "sign `message` with the wallet (EIP-191 personal_sign) and send both; the same "
        "challenge signed by a company wallet is `wallet_proof` of POST /api/issuers/",
    }
}

LINKS: dict[str, dict[str, dict]] = {
    "campaigns_create": {"201": CAMPAIGN},
    "campaigns_partial_update": {"200": CAMPAIGN},
    "campaigns_submit_create": {"200": CAMPAIGN},
    "campaigns_review_create": {"200": CAMPAIGN, "202": CAMPAIGN},
    "campaigns_investments_create": {"202": INVESTMENT},
    "issuers_create": {"201": ISSUER},
    "issuers_partial_update": {"200": ISSUER},
    "credentials_issue_create": {"202": CREDENTIAL},
    "institutions_create": {"202": INSTITUTION},
    "loans_create": {"201": LOAN},
    "loans_partial_update": {"200": LOAN},
    "auth_wallet_challenge_create": {"201": WALLET_VERIFY},
}
