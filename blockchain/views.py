"""Operator endpoints for the outbox (`/api/blockchain/transactions/`)."""

from __future__ import annotations

import django_filters
from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from blockchain.models import ChainTransaction, TxStatus
from blockchain.outbox import enqueue as outbox
from blockchain.selectors import sync_status
from blockchain.serializers import (
    ChainTransactionSerializer,
    SyncStatusSerializer,
)
from core.api import StateConflict, role_required


class ChainTransactionFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=TxStatus.choices)
    kind = django_filters.CharFilter()
    contract_name = django_filters.CharFilter()
    tx_hash = django_filters.CharFilter(field_name="attempt_set__tx_hash", distinct=True)

    class Meta:
        model = ChainTransaction
        fields = ["status", "kind", "contract_name", "tx_hash"]


class ChainTransactionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The outbox: every chain write the platform made or will make."""

    serializer_class = ChainTransactionSerializer
    permission_classes = [role_required("operator")]
    filterset_class = ChainTransactionFilter
    queryset = (
        ChainTransaction.objects.select_related("content_type")
        .prefetch_related("attempt_set")
        .order_by("-id")
    )

    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str | None = None) -> Response:
        """Queue a failed transaction again (fresh nonce)."""
        tx = self.get_object()
        try:
            tx = outbox.retry_failed(tx=tx)
        except outbox.OutboxError as exc:
            raise StateConflict(str(exc), code="not_failed") from None
        return Response(self.get_serializer(tx).data, status=status.HTTP_202_ACCEPTED)

    @action(detail=True, methods=["post"])
    def rebroadcast(self, request: Request, pk: str | None = None) -> Response:
        """Queue a re-broadcast of the stored signed bytes (idempotent at the node)."""
        tx = self.get_object()
        try:
            outbox.rebroadcast(tx=tx)
        except outbox.OutboxError as exc:
            raise StateConflict(str(exc), code="not_in_flight") from None
        return Response(self.get_serializer(tx).data, status=status.HTTP_202_ACCEPTED)


class SyncStatusView(APIView):
    """Indexer position, outbox health, signer balance and the last drift report (no chain call)."""

    permission_classes = [role_required("operator", "compliance")]

    @extend_schema(responses=SyncStatusSerializer)
    def get(self, request: Request) -> Response:
        return Response(SyncStatusSerializer(sync_status(chain_id=settings.CHAIN_ID)).data)
