"""Operator API of webhooks (`/api/webhooks/`): endpoints, the delivery log, the event catalogue."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import role_required
from webhooks import selectors, services, targets
from webhooks.catalogue import EVENT_TYPES
from webhooks.models import DeliveryStatus, WebhookDelivery
from webhooks.serializers import (
    DeliveryDetailSerializer,
    DeliverySerializer,
    EndpointCreatedSerializer,
    EndpointSerializer,
    EventTypeSerializer,
    SecretSerializer,
)

IsOperator = role_required("operator")


class EndpointViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Partner endpoints that receive signed webhook deliveries."""

    serializer_class = EndpointSerializer
    permission_classes = [IsOperator]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return selectors.endpoints()

    @extend_schema(responses={201: EndpointCreatedSerializer})
    def create(self, request: Request, *args, **kwargs) -> Response:
        """Register an endpoint; the answer carries its signing secret, shown this once."""
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint, secret = services.create_endpoint(**serializer.validated_data, created_by=request.user)
        data = EndpointCreatedSerializer(endpoint).data
        data["secret"] = secret.reveal()
        return Response(data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer: EndpointSerializer) -> None:
        try:
            serializer.instance = services.update_endpoint(
                endpoint=serializer.instance, **serializer.validated_data
            )
        except targets.UnsafeTarget as exc:  # pragma: no cover - the serializer checks first
            raise serializers.ValidationError({"url": [str(exc)]}) from None

    @extend_schema(request=None, responses={200: SecretSerializer})
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str | None = None) -> Response:
        """A new signing secret; deliveries from now on are signed with it only."""
        secret = services.rotate_secret(endpoint=self.get_object())
        return Response({"secret": secret.reveal()})


class DeliveryFilter(django_filters.FilterSet):
    endpoint = django_filters.NumberFilter(field_name="endpoint_id", min_value=1, max_value=2**63 - 1)
    event_type = django_filters.ChoiceFilter(
        field_name="event__event_type", choices=[(t, t) for t in sorted(EVENT_TYPES)]
    )
    status = django_filters.ChoiceFilter(choices=DeliveryStatus.choices)

    class Meta:
        model = WebhookDelivery
        fields = ["endpoint", "event_type", "status"]


class DeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The delivery log: every event sent to every endpoint, with each attempt's answer."""

    permission_classes = [IsOperator]
    filterset_class = DeliveryFilter

    def get_queryset(self):
        queryset = selectors.deliveries()
        if self.action == "retrieve":
            queryset = queryset.prefetch_related("attempt_log")
        return queryset

    def get_serializer_class(self):
        return DeliveryDetailSerializer if self.action == "retrieve" else DeliverySerializer

    @extend_schema(request=None, responses={202: DeliverySerializer})
    @action(detail=True, methods=["post"])
    def redeliver(self, request: Request, pk: str | None = None) -> Response:
        """Send this delivery again now, with a fresh 24-hour retry window."""
        delivery = services.redeliver(delivery=self.get_object())
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class EventTypesView(APIView):
    """The event types an endpoint can subscribe to."""

    permission_classes = [IsOperator]

    @extend_schema(responses=EventTypeSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(selectors.event_types())
