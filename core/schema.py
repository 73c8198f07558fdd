"""The OpenAPI schema documents API.md's error envelope on every operation, so clients (and the
schemathesis run in CI) know every status an operation may answer and what its body looks like."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers


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
IDEMPOTENCY_KEY = OpenApiParameter(
    name="Idempotency-Key",
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "1 to 255 printable ASCII characters chosen by the client. The same key from the same user with "
        "the same request within 24 h answers the first response again (header "
        "`Idempotent-Replayed: true`) without a second effect; with a different request → 422 "
        "`idempotency_key_reused`; while the first is still running → 409 `idempotency_in_progress` "
        "(`Retry-After: 1`); malformed → 400 `invalid_idempotency_key`. Anonymous requests are not "
        "deduplicated; 5xx and 429 answers are not stored."
    ),
)


class AutoSchema(SpectacularAutoSchema):
    """Every operation also documents the error envelope for the errors any request may get, and
    every unsafe one the `Idempotency-Key` header."""

    def get_override_parameters(self):
        parameters = super().get_override_parameters()
        if self.method in UNSAFE_METHODS:
            parameters = [*parameters, IDEMPOTENCY_KEY]
        return parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        errors = {**ERRORS, **IDEMPOTENCY_ERRORS} if self.method in UNSAFE_METHODS else ERRORS
        for code, description in errors.items():
            if code not in responses or "content" not in responses[code]:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description=description), code, direction=direction
                )
        return responses
