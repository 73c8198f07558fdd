"""`/api/loans/`: operators record, approve (anchor) and repay loans; compliance reads and verifies."""

from __future__ import annotations

from datetime import UTC

import django_filters
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from blockchain.selectors import chain_summary, latest_transaction, where_shown
from core.api import role_required
from core.query_params import KnownQueryParameters
from loans import selectors, services
from loans.models import ANCHORED_STATUSES, Loan, LoanStatus
from loans.serializers import (
    LoanChainStatusSerializer,
    LoanHistoryEntrySerializer,
    LoanSerializer,
    LoanUpdateSerializer,
    LoanVerificationSerializer,
    MarkDefaultedSerializer,
    MarkRepaidSerializer,
)

READERS = role_required("operator", "compliance")
OPERATORS = role_required("operator")


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 time, turned into UTC before it reaches the query: Python accepts UTC offsets up to
    ±23:59, PostgreSQL only up to ±15:59."""

    default_error_messages = {"overflow": "This time is out of range once converted to UTC."}

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise ValidationError(self.error_messages["overflow"], code="overflow") from None


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class LoanFilter(django_filters.FilterSet):
    # The status the API shows (selectors.with_shown_status), so a filter and a row never disagree.
    status = django_filters.ChoiceFilter(
        method="filter_shown_status",
        field_name="shown_status",
        choices=[(s, s) for s in selectors.SHOWN_LOAN_STATUSES],
    )
    currency = django_filters.CharFilter(method="filter_currency")
    borrower_wallet = django_filters.CharFilter(lookup_expr="iexact")
    lender_wallet = django_filters.CharFilter(lookup_expr="iexact")
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Loan
        fields = ["status", "currency", "borrower_wallet", "lender_wallet"]

    def filter_shown_status(self, queryset, name, value):
        """Only a filtered list pays for the SQL form of the shown status."""
        return where_shown(queryset, selectors.SHOWN_STATUS_RULES, value)

    def filter_currency(self, queryset, name, value):
        return queryset.filter(currency=value.upper())


class LoanViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Loans, addressed by their `loan_id`."""

    lookup_field = "loan_id"
    lookup_value_regex = "[A-Za-z0-9-]{1,100}"
    filterset_class = LoanFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no database
            return Loan.objects.none()
        return selectors.loans_for(self.request.user)

    def get_permissions(self):
        reads = {"list", "retrieve", "chain_status", "verify", "history"}
        return [(READERS if self.action in reads else OPERATORS)()]

    def get_serializer_class(self):
        return LoanUpdateSerializer if self.action == "partial_update" else LoanSerializer

    def _loan_response(self, loan: Loan, code: int = status.HTTP_200_OK) -> Response:
        loan = self.get_queryset().get(pk=loan.pk)
        return Response(LoanSerializer(loan, context=self.get_serializer_context()).data, status=code)

    @extend_schema(responses={201: LoanSerializer})
    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        loan = services.create_loan(actor=request.user, **data)
        return self._loan_response(loan, status.HTTP_201_CREATED)

    @extend_schema(
        responses={200: LoanSerializer, 409: OpenApiResponse(description="hashed terms are frozen")}
    )
    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        loan = self.get_object()
        serializer = self.get_serializer(loan, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        loan = services.update_loan(loan=loan, actor=request.user, **serializer.validated_data)
        return self._loan_response(loan)

    @extend_schema(
        request=None, responses={202: LoanSerializer, 409: OpenApiResponse(description="not a draft")}
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, loan_id: str | None = None) -> Response:
        """Approve a draft: its hash is fixed and anchored on chain through the outbox (storeLoan)."""
        loan = services.approve_loan(loan=self.get_object(), actor=request.user)
        return self._loan_response(loan, status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={202: LoanSerializer, 200: LoanSerializer})
    @action(detail=True, methods=["post"], url_path="blockchain/store")
    def store(self, request: Request, loan_id: str | None = None) -> Response:
        """Re-queue anchoring of an approved loan whose anchoring failed. Idempotent: 200 and no new
        transaction when it is already anchoring or anchored."""
        loan, queued = services.request_anchoring(loan=self.get_object(), actor=request.user)
        return self._loan_response(loan, status.HTTP_202_ACCEPTED if queued else status.HTTP_200_OK)

    @extend_schema(responses=LoanChainStatusSerializer)
    @action(detail=True, methods=["get"], url_path="blockchain/status")
    def chain_status(self, request: Request, loan_id: str | None = None) -> Response:
        """What the platform knows from the chain's events (no chain call), as far as the outbox
        has confirmed it: the same facts `status` shows."""
        loan = self.get_object()
        shown = selectors.shown_status(loan)
        return Response(
            LoanChainStatusSerializer(
                {
                    "anchored": shown in ANCHORED_STATUSES or shown == selectors.REPAYING,
                    "repaid": shown == LoanStatus.REPAID,
                    "loan_hash": loan.loan_hash,
                    "repaid_hash": loan.repaid_hash,
                    "chain": chain_summary(latest_transaction(loan)),
                }
            ).data
        )

    @extend_schema(
        responses={200: LoanVerificationSerializer, 503: OpenApiResponse(description="chain unreachable")}
    )
    @action(detail=True, methods=["get"], url_path="blockchain/verify")
    def verify(self, request: Request, loan_id: str | None = None) -> Response:
        """Recompute the hash from the database row and compare it, and the repayment, with getLoan."""
        result = services.verify_loan(loan=self.get_object())
        data = {**result.__dict__, "verified": result.verified}
        return Response(LoanVerificationSerializer(data).data)

    @extend_schema(request=MarkRepaidSerializer, responses={202: LoanSerializer})
    @action(detail=True, methods=["post"], url_path="blockchain/mark-repaid")
    def mark_repaid(self, request: Request, loan_id: str | None = None) -> Response:
        """Record the repayment; markRepaid goes on chain through the outbox."""
        body = MarkRepaidSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        loan = services.request_repayment(
            loan=self.get_object(), actor=request.user, repaid_at=body.validated_data.get("repaid_at")
        )
        return self._loan_response(loan, status.HTTP_202_ACCEPTED)

    @extend_schema(request=MarkDefaultedSerializer, responses={200: LoanSerializer})
    @action(detail=True, methods=["post"], url_path="mark-defaulted")
    def mark_defaulted(self, request: Request, loan_id: str | None = None) -> Response:
        body = MarkDefaultedSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        loan = services.mark_defaulted(
            loan=self.get_object(), actor=request.user, reason=body.validated_data["reason"]
        )
        return self._loan_response(loan)

    @extend_schema(responses=LoanHistoryEntrySerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[KnownQueryParameters])
    def history(self, request: Request, loan_id: str | None = None) -> Response:
        """The loan's audit trail, oldest first."""
        entries = self.get_object().history.select_related("actor").order_by("at", "id")
        return Response(LoanHistoryEntrySerializer(entries, many=True).data)
