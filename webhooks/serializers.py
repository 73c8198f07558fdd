"""Webhook endpoints, deliveries and the event catalogue as operators see them."""

from __future__ import annotations

from rest_framework import serializers

from webhooks import targets
from webhooks.catalogue import EVENT_TYPES
from webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint


class EndpointSerializer(serializers.ModelSerializer):
    url = serializers.URLField(
        max_length=2000,
        help_text="Where deliveries are POSTed. Production accepts https on public addresses only.",
    )
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(EVENT_TYPES)),
        min_length=1,
        max_length=len(EVENT_TYPES),
        help_text="The event types to receive (GET /api/webhooks/event-types/ lists them).",
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    active = serializers.BooleanField(required=False, default=True)

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "event_types",
            "description",
            "active",
            "created_at",
            "updated_at",
            "secret_rotated_at",
            "consecutive_failures",
            "failing_since",
            "disabled_at",
            "disabled_reason",
        ]
        read_only_fields = [f for f in fields if f not in ("url", "event_types", "description", "active")]

    def validate_url(self, value: str) -> str:
        try:
            targets.check_url(value)
        except targets.UnsafeTarget as exc:
            raise serializers.ValidationError(str(exc), code="unsafe_url") from None
        return value


class EndpointCreatedSerializer(EndpointSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="The signing secret (whsec_…). Shown once: store it now."
    )

    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret"]


class SecretSerializer(serializers.Serializer):
    secret = serializers.CharField(read_only=True, help_text="The new signing secret (whsec_…), shown once.")


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["number", "started_at", "status_code", "latency_ms", "error", "response_excerpt"]


class DeliverySerializer(serializers.ModelSerializer):
    event_id = serializers.CharField(read_only=True)
    event_type = serializers.CharField(source="event.event_type", read_only=True)
    endpoint = serializers.IntegerField(source="endpoint_id", read_only=True)
    status = serializers.ChoiceField(choices=DeliveryStatus.choices, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event_id",
            "event_type",
            "endpoint",
            "status",
            "attempts",
            "last_status_code",
            "last_error",
            "last_attempt_at",
            "next_attempt_at",
            "delivered_at",
            "created_at",
        ]
        read_only_fields = fields


class DeliveryDetailSerializer(DeliverySerializer):
    attempt_log = AttemptSerializer(many=True, read_only=True)
    body = serializers.CharField(source="event.body", read_only=True, help_text="The exact JSON body sent.")

    class Meta(DeliverySerializer.Meta):
        fields = [*DeliverySerializer.Meta.fields, "body", "attempt_log"]
        read_only_fields = fields


class EventTypeSerializer(serializers.Serializer):
    type = serializers.CharField()
    description = serializers.CharField()
