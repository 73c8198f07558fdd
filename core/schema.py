"""The OpenAPI schema documents API.md's error envelope on every operation, so clients (and the
schemathesis run in CI) know every status an operation may answer and what its body looks like."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse
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


class AutoSchema(SpectacularAutoSchema):
    """Every operation also documents the error envelope for the errors any request may get."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code, description in ERRORS.items():
            if code not in responses or "content" not in responses[code]:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description=description), code, direction=direction
                )
        return responses
