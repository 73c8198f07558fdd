"""The OpenAPI schema says what the API enforces (shared/API.md, "Frontend integration").

`AutoSchema` (REST_FRAMEWORK's DEFAULT_SCHEMA_CLASS) adds to what drf-spectacular reads from the views
and serializers:

- fields that know their own OpenAPI facets: a serializer field with an `openapi_schema(direction)`
  method adds those keywords (a pattern, an enum, an example) to its schema, so the rule a field
  validates by and the rule the schema states are written once, on the field;
- decimal amounts (strings) with the pattern their field validates: whole and fractional digits, no
  sign where the minimum is not negative, no zero where it must be positive;
- every unsafe operation's `Idempotency-Key` header, the `Idempotent-Replayed` header of its
  answers, and its 409 `idempotency_in_progress` / 422 `idempotency_key_reused`;
- every error status an operation may answer, with the error envelope of API.md whose `code` is
  enumerated: the codes its request's fields validate with, the codes every request may get (auth,
  throttling, ...), and the operation's own business-rule codes (core.schema_errors);
- links from an operation's answer to the operations it supplies ids to (core.schema_links).
"""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import force_instance
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from core.schema_errors import OPERATION_CODES, codes_for
from core.schema_links import LINKS


class ErrorSerializer(serializers.Serializer):
    """API.md's error envelope."""

    code = serializers.CharField(help_text="stable machine code")
    message = serializers.CharField(help_text="human message")
    errors = serializers.DictField(required=False, help_text="per-field messages (validation)")


ERRORS = {
    "400": "invalid input",
    "401": "not signed in, or a bad token",
    "403": "not allowed",
    "404": "not found",
    "405": "method not allowed",
    "409": "the resource's state does not allow it",
    "415": "unsupported media type",
    "429": "throttled",
    "503": "the chain or a dependency is unavailable",
}

# Unsafe operations take `Idempotency-Key` (core.idempotency) and may answer these as well.
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
IDEMPOTENCY_ERRORS = {"422": "the Idempotency-Key was used with a different request"}
# core.idempotency.valid_key: 1 to 255 printable ASCII characters. Leading and trailing spaces do not
# survive HTTP header parsing, so the schema asks for none.
IDEMPOTENCY_KEY_PATTERN = r"^[!-~](?:[ -~]{0,253}[!-~])?$"
IDEMPOTENCY_KEY = OpenApiParameter(
    name="Idempotency-Key",
    type={"type": "string", "minLength": 1, "maxLength": 255, "pattern": IDEMPOTENCY_KEY_PATTERN},
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "1 to 255 printable ASCII characters chosen by the client (a UUID is a good choice), one per "
        "intended effect. The same key from the same user with the same request (method, path, query "
        "and body bytes) within 24 h answers the first response again (same status and body, header "
        "`Idempotent-Replayed: true`) without a second effect; with a different request → 422 "
        "`idempotency_key_reused`; while the first is still running → 409 `idempotency_in_progress` "
        "(`Retry-After: 1`); malformed → 400 `invalid_idempotency_key`. Anonymous requests are not "
        "deduplicated; 5xx and 429 answers are not stored, so retrying them runs the request again."
    ),
)
REPLAYED_HEADER = {
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored answer to an earlier request with the same "
        "Idempotency-Key (nothing ran a second time); absent otherwise.",
        "schema": {"type": "string", "enum": ["true"]},
    }
}
RETRY_AFTER_HEADER = {
    "Retry-After": {
        "description": "seconds to wait: sent with 409 `idempotency_in_progress` and with 429",
        "schema": {"type": "integer", "minimum": 0},
    }
}

ERROR_COMPONENT = "Error"
URL_PATTERN = r"^https?://(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}(?::[1-9][0-9]{0,3})?(?:/[A-Za-z0-9._~/-]*)?$"
DECIMAL_EXAMPLE = "2500.00"


def decimal_pattern(field: serializers.DecimalField) -> str:
    """The strings `field` accepts as plain decimals: at most its whole and fractional digits, a sign
    only where its minimum allows a negative, and not zero where its minimum is positive."""
    whole = (field.max_digits - field.decimal_places) if field.max_digits is not None else None
    places = field.decimal_places
    minimum = field.min_value
    sign = "" if minimum is not None and Decimal(minimum) >= 0 else "-?"
    not_zero = r"(?!0*(?:\.0*)?$)" if minimum is not None and Decimal(minimum) > 0 else ""
    whole_digits = rf"\d{{1,{whole}}}" if whole else r"\d+"
    fraction = "" if places == 0 else (rf"(?:\.\d{{1,{places}}})?" if places is not None else r"(?:\.\d+)?")
    return f"^{sign}{not_zero}{whole_digits}{fraction}$"


def decimal_description(field: serializers.DecimalField) -> str:
    parts = ["a decimal string"]
    if field.decimal_places is not None:
        parts.append(f"at most {field.decimal_places} decimal places")
    if field.min_value is not None:
        parts.append(f"at least {field.min_value}")
    if field.max_value is not None:
        parts.append(f"at most {field.max_value}")
    return ", ".join(parts)


class AutoSchema(SpectacularAutoSchema):
    """See the module docstring."""

    # --- request facets -----------------------------------------------------------------------------

    def get_override_parameters(self):
        parameters = super().get_override_parameters()
        if self.method in UNSAFE_METHODS:
            parameters = [*parameters, IDEMPOTENCY_KEY]
        return parameters

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if not isinstance(schema, dict) or "$ref" in schema:
            return schema
        if isinstance(field, serializers.DecimalField) and direction == "request" and not field.read_only:
            schema["pattern"] = decimal_pattern(field)
            schema.setdefault("description", decimal_description(field))
            whole = (field.max_digits or 99) - (field.decimal_places or 0)
            if (field.decimal_places or 0) >= 2 and whole >= 4 and not schema.get("nullable"):
                schema.setdefault("example", DECIMAL_EXAMPLE)
        if isinstance(field, serializers.ListSerializer) and schema.get("type") == "array":
            if field.min_length is not None:
                schema["minItems"] = field.min_length
            elif not field.allow_empty:
                schema["minItems"] = 1
            if field.max_length is not None:
                schema["maxItems"] = field.max_length
        own = getattr(field, "openapi_schema", None)
        if callable(own):
            for key, value in own(direction).items():
                if key == "description" and schema.get("description"):
                    continue
                schema[key] = value
        return schema

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        combinations = getattr(serializer, "openapi_combinations", None)
        if direction == "request" and callable(combinations):
            schema.update(combinations())  # what validate() requires of the fields together
        return schema

    def _insert_field_validators(self, field, schema):
        super()._insert_field_validators(field, schema)
        if isinstance(field, serializers.URLField) and not field.read_only:
            # What Django's URLValidator accepts, in the subset a client should send: http(s), a host
            # name with a top-level domain, an optional port and path (`format: uri` says much less).
            schema.pop("format", None)
            schema["pattern"] = URL_PATTERN
            schema.setdefault("example", "https://partner.example.com/hooks/ledgerbridge")

    def map_parsers(self):
        """A body with nested objects or lists is JSON: a form cannot carry them."""
        parsers = super().map_parsers()
        serializer = force_instance(self.get_request_serializer())
        if isinstance(serializer, serializers.BaseSerializer) and _has_structure(serializer):
            parsers = [media for media in parsers if media == "application/json"] or parsers
        return parsers

    # --- responses ----------------------------------------------------------------------------------

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        errors = {**ERRORS, **IDEMPOTENCY_ERRORS} if self.method in UNSAFE_METHODS else ERRORS
        for code, description in errors.items():
            if code not in responses or "content" not in responses[code]:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description=description), code, direction=direction
                )
        return responses

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return operation
        operation_id = operation["operationId"]
        unsafe = method.upper() in UNSAFE_METHODS
        field_codes = self._request_field_codes() if "requestBody" in operation else set()
        codes = codes_for(
            operation_id,
            method=method.upper(),
            has_query=any(parameter.get("in") == "query" for parameter in operation.get("parameters", [])),
            authenticated=bool(self.get_auth()),
            has_body="requestBody" in operation,
            field_codes=field_codes,
        )
        for status, response in operation["responses"].items():
            if status in codes:
                self._enumerate_codes(response, sorted(codes[status]))
            if unsafe and status.startswith("2"):
                response.setdefault("headers", {}).update(REPLAYED_HEADER)
            if status in ("409", "429"):
                response.setdefault("headers", {}).update(RETRY_AFTER_HEADER)
            links = LINKS.get(operation_id, {}).get(status)
            if links:
                response["links"] = links
        return operation

    def _enumerate_codes(self, response: dict, codes: list[str]) -> None:
        for media in response.get("content", {}).values():
            schema = media.get("schema", {})
            if schema.get("$ref", "").endswith(f"/{ERROR_COMPONENT}"):
                media["schema"] = {
                    "allOf": [
                        schema,
                        {"type": "object", "properties": {"code": {"type": "string", "enum": codes}}},
                    ]
                }
        descriptions = OPERATION_CODES.get("_descriptions", {})
        explained = [f"`{code}`: {descriptions[code]}" for code in codes if code in descriptions]
        if explained:
            response["description"] = response.get("description", "") + "\n\n" + "; ".join(explained)

    def _request_field_codes(self) -> set[str]:
        """The codes the request serializer's fields (and nested ones) can refuse a value with."""
        serializer = force_instance(self.get_request_serializer())
        codes: set[str] = set()
        if isinstance(serializer, serializers.BaseSerializer):
            _collect_field_codes(serializer, codes)
        return codes


def _has_structure(serializer) -> bool:
    if isinstance(serializer, serializers.ListSerializer):
        return True
    return any(
        isinstance(
            field,
            (serializers.BaseSerializer, serializers.JSONField, serializers.DictField, serializers.ListField),
        )
        for field in serializer.fields.values()
        if not field.read_only
    )


def _collect_field_codes(field, codes: set[str]) -> None:
    if getattr(field, "read_only", False):
        return
    codes.update(getattr(field, "error_messages", {}).keys())
    for validator in getattr(field, "validators", []):
        code = getattr(validator, "code", None)
        if isinstance(code, str):
            codes.add(code)
    if isinstance(field, serializers.ListSerializer):
        _collect_field_codes(field.child, codes)
    elif isinstance(field, serializers.Serializer):
        for child in field.fields.values():
            _collect_field_codes(child, codes)
    elif isinstance(field, (serializers.ListField, serializers.DictField)):
        _collect_field_codes(field.child, codes)
