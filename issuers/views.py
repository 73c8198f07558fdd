"""`/api/issuers/`: issuers register companies; compliance reviews their KYB."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import role_required
from core.query_params import KnownQueryParameters
from issuers import selectors, services
from issuers.models import Company, KybStatus, RegistrationStatus
from issuers.serializers import CompanyReviewSerializer, CompanySerializer, ComplianceReviewSerializer

READERS = role_required("issuer", "compliance", "operator")


class CompanyFilter(django_filters.FilterSet):
    kyb_status = django_filters.ChoiceFilter(choices=KybStatus.choices)
    registration_status = django_filters.ChoiceFilter(choices=RegistrationStatus.choices)
    country = django_filters.CharFilter(method="filter_country")

    class Meta:
        model = Company
        fields = ["kyb_status", "registration_status", "country"]

    def filter_country(self, queryset, name, value):
        return queryset.filter(country=value.upper())


class CompanyViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Issuer companies. An issuer sees and edits its own; compliance and operators see all."""

    serializer_class = CompanySerializer
    filterset_class = CompanyFilter
    http_method_names = ["get", "post", "patch", "head", "options"]
    permissions_by_action = {
        "create": role_required("issuer"),
        "partial_update": role_required("issuer"),
        "review": role_required("compliance"),
        "register": role_required("compliance", "operator"),
    }

    def get_queryset(self):
        return selectors.companies_for(self.request.user)

    def get_permissions(self):
        return [self.permissions_by_action.get(self.action, READERS)()]

    def _respond(self, company: Company, code: int = status.HTTP_200_OK) -> Response:
        company = self.get_queryset().get(pk=company.pk)
        return Response(self.get_serializer(company).data, status=code)

    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        company = services.create_company(owner=request.user, **serializer.validated_data)
        return self._respond(company, status.HTTP_201_CREATED)

    @extend_schema(
        responses={200: CompanySerializer, 409: OpenApiResponse(description="KYB already approved")}
    )
    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        company = self.get_object()
        serializer = self.get_serializer(company, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        company = services.update_company(company=company, actor=request.user, **serializer.validated_data)
        return self._respond(company)

    @extend_schema(
        request=CompanyReviewSerializer, responses={200: CompanySerializer, 202: CompanySerializer}
    )
    @action(detail=True, methods=["post"])
    def review(self, request: Request, pk: str | None = None) -> Response:
        """Approve (registers the issuer on chain: 202) or reject (with the reason) a pending KYB."""
        body = CompanyReviewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        company = services.review_company(
            company=self.get_object(), officer=request.user, **body.validated_data
        )
        approved = company.kyb_status == KybStatus.APPROVED
        return self._respond(company, status.HTTP_202_ACCEPTED if approved else status.HTTP_200_OK)

    @extend_schema(request=None, responses={200: CompanySerializer, 202: CompanySerializer})
    @action(detail=True, methods=["post"])
    def register(self, request: Request, pk: str | None = None) -> Response:
        """Queue registerIssuer again after a failed registration (idempotent)."""
        company, queued = services.request_registration(company=self.get_object())
        return self._respond(company, status.HTTP_202_ACCEPTED if queued else status.HTTP_200_OK)

    @extend_schema(responses=ComplianceReviewSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[KnownQueryParameters])
    def reviews(self, request: Request, pk: str | None = None) -> Response:
        """Every compliance decision on the company, oldest first."""
        return Response(ComplianceReviewSerializer(services.reviews_of(self.get_object()), many=True).data)
