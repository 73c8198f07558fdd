"""`/api/campaigns/`: issuers draft and submit campaigns; compliance reviews; the public browses."""

from __future__ import annotations

import django_filters
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from blockchain.selectors import where_shown
from campaigns import selectors, services
from campaigns.models import Campaign, CampaignStatus, Investment, InvestmentStatus
from campaigns.serializers import (
    CampaignCancelSerializer,
    CampaignReviewSerializer,
    CampaignSerializer,
    CampaignUpdateSerializer,
    InvestmentReviewSerializer,
    InvestmentSerializer,
    InvestorProfileSerializer,
    InvestRequestSerializer,
    ShareCertificateSerializer,
    StaffInvestmentSerializer,
    campaign_representation,
)
from core.api import role_required
from core.query_params import KnownQueryParameters
from issuers.serializers import ComplianceReviewSerializer
from issuers.services import reviews_of

CONFLICT = OpenApiResponse(description="not allowed in the campaign's state, or an issuance rule")


class CampaignFilter(django_filters.FilterSet):
    # The status the API shows (selectors.with_shown_status), so a filter and a row never disagree.
    status = django_filters.ChoiceFilter(
        method="filter_shown_status",
        field_name="shown_status",
        choices=[(s, s) for s in selectors.SHOWN_CAMPAIGN_STATUSES],
    )

    class Meta:
        model = Campaign
        fields = ["status", "issuer"]

    def filter_shown_status(self, queryset, name, value):
        """Only a filtered list pays for the SQL form of the shown status."""
        return where_shown(queryset, selectors.CAMPAIGN_SHOWN_STATUS_RULES, value)


class CampaignViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Campaigns. Anyone sees active and successful ones; issuers their own; compliance all."""

    filterset_class = CampaignFilter
    http_method_names = ["get", "post", "patch", "head", "options"]
    # The life-cycle actions take their roles from services.ACTION_ROLES, which `allowed_actions`
    # also filters by: what a campaign offers a caller is what this view lets them do.
    permissions_by_action = {
        "list": permissions.AllowAny,
        "retrieve": permissions.AllowAny,
        "create": role_required("issuer"),
        "partial_update": role_required(*services.roles_for("edit")),
        "submit": role_required(*services.roles_for("submit")),
        "review": role_required(*services.roles_for(*services.REVIEW_DECISIONS)),
        "deploy": role_required(*services.roles_for("deploy")),
        "close": role_required(*services.roles_for("close")),
        "cancel": role_required(*services.roles_for("cancel")),
        "reviews": role_required("issuer", "compliance", "operator"),
        "investments": role_required("investor"),
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no database
            return Campaign.objects.none()
        return selectors.campaigns_for(self.request.user)

    def get_permissions(self):
        return [self.permissions_by_action.get(self.action, role_required("compliance", "operator"))()]

    def get_serializer_class(self):
        return CampaignUpdateSerializer if self.action == "partial_update" else CampaignSerializer

    def list(self, request: Request, *args, **kwargs) -> Response:
        if request.query_params:  # filters, other pages and sizes, the parameter check: the generic path
            return super().list(request, *args, **kwargs)
        # The first page with the same rows, order, visibility, count and representation as the
        # generic path, in one precompiled statement and without building the serializer.
        size = self.paginator.get_page_size(request)
        rows, count = selectors.first_campaign_page(request.user, size=size)
        page = self.paginator.first_page(rows, count, request)
        user, zone = request.user, timezone.get_current_timezone()
        return self.paginator.get_paginated_response(
            [campaign_representation(campaign, user=user, zone=zone) for campaign in page]
        )

    def _respond(self, campaign: Campaign, code: int = status.HTTP_200_OK) -> Response:
        campaign = self.get_queryset().get(pk=campaign.pk)
        return Response(CampaignSerializer(campaign, context=self.get_serializer_context()).data, status=code)

    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        campaign = services.create_campaign(actor=request.user, **serializer.validated_data)
        return self._respond(campaign, status.HTTP_201_CREATED)

    @extend_schema(responses={200: CampaignSerializer, 409: CONFLICT})
    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        campaign = self.get_object()
        serializer = self.get_serializer(campaign, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        campaign = services.update_campaign(
            campaign=campaign, actor=request.user, **serializer.validated_data
        )
        return self._respond(campaign)

    @extend_schema(request=None, responses={200: CampaignSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str | None = None) -> Response:
        """Submit a draft for compliance review (the issuance rules apply here)."""
        return self._respond(services.submit_campaign(campaign=self.get_object(), actor=request.user))

    @extend_schema(
        request=CampaignReviewSerializer,
        responses={200: CampaignSerializer, 202: CampaignSerializer, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def review(self, request: Request, pk: str | None = None) -> Response:
        """Approve (deploys the contract: 202), reject or request changes."""
        body = CampaignReviewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        campaign = services.review_campaign(
            campaign=self.get_object(), officer=request.user, **body.validated_data
        )
        deploying = campaign.status == CampaignStatus.DEPLOYING
        return self._respond(campaign, status.HTTP_202_ACCEPTED if deploying else status.HTTP_200_OK)

    @extend_schema(request=None, responses={202: CampaignSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def deploy(self, request: Request, pk: str | None = None) -> Response:
        """Deploy again after a failed deployment."""
        return self._respond(
            services.request_deployment(campaign=self.get_object(), actor=request.user),
            status.HTTP_202_ACCEPTED,
        )

    @extend_schema(request=None, responses={202: CampaignSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None) -> Response:
        """Finalize on chain: early only after 21 days open with the goal met."""
        campaign = services.close_campaign(campaign=self.get_object(), actor=request.user)
        return self._respond(campaign, status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=CampaignCancelSerializer,
        responses={200: CampaignSerializer, 202: CampaignSerializer, 409: CONFLICT},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Cancel; a live campaign's contract is finalized on chain first (202, `cancelling`)."""
        body = CampaignCancelSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        campaign = services.cancel_campaign(
            campaign=self.get_object(), actor=request.user, **body.validated_data
        )
        waits = selectors.shown_status(campaign) == selectors.CANCELLING
        return self._respond(campaign, status.HTTP_202_ACCEPTED if waits else status.HTTP_200_OK)

    @extend_schema(request=InvestRequestSerializer, responses={202: InvestmentSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def investments(self, request: Request, pk: str | None = None) -> Response:
        """Invest (a bound wallet and valid KYC needed); AML-held investments answer 202 too."""
        body = InvestRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        investment = services.invest(
            campaign=self.get_object(), investor=request.user, amount=body.validated_data["amount"]
        )
        investment = selectors.investments_for(request.user).get(pk=investment.pk)
        return Response(
            InvestmentSerializer(investment, context=self.get_serializer_context()).data,
            status=status.HTTP_202_ACCEPTED,
        )

    @extend_schema(responses=ComplianceReviewSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[KnownQueryParameters])
    def reviews(self, request: Request, pk: str | None = None) -> Response:
        """Every compliance decision on the campaign, oldest first."""
        campaign = self.get_object()
        if request.user.has_role("issuer") and campaign.issuer.owner_id != request.user.pk:
            return Response({"code": "not_found", "message": "Not found."}, status=status.HTTP_404_NOT_FOUND)
        return Response(ComplianceReviewSerializer(reviews_of(campaign), many=True).data)


class InvestmentFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        method="filter_shown_status",
        field_name="shown_status",
        choices=[(s, s) for s in selectors.SHOWN_INVESTMENT_STATUSES],
    )

    class Meta:
        model = Investment
        fields = ["status", "campaign"]

    def filter_shown_status(self, queryset, name, value):
        """Only a filtered list pays for the SQL form of the shown status."""
        return where_shown(queryset, selectors.INVESTMENT_SHOWN_STATUS_RULES, value)


class InvestmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Investments: an investor sees their own; compliance and operators all (the review queue is
    `?status=held_for_review`), and only they get the AML flags and rejection notes (`aml`,
    `rejection_notes`: StaffInvestment)."""

    serializer_class = InvestmentSerializer
    filterset_class = InvestmentFilter
    permissions_by_action = {
        "cancel": role_required("investor"),
        "review": role_required("compliance"),
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no database
            return Investment.objects.none()
        return selectors.investments_for(self.request.user)

    def get_serializer_class(self):
        return StaffInvestmentSerializer if selectors.sees_aml(self.request.user) else InvestmentSerializer

    def get_permissions(self):
        return [
            self.permissions_by_action.get(self.action, role_required("investor", "compliance", "operator"))()
        ]

    @extend_schema(
        request=None, responses={200: InvestmentSerializer, 202: InvestmentSerializer, 409: CONFLICT}
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Withdraw, until 48 h before the campaign ends (a confirmed one is cancelled on chain: 202)."""
        investment = services.cancel_investment(investment=self.get_object(), investor=request.user)
        code = status.HTTP_202_ACCEPTED if investment.cancel_requested_at else status.HTTP_200_OK
        return Response(self.get_serializer(self.get_queryset().get(pk=investment.pk)).data, status=code)

    @extend_schema(
        request=InvestmentReviewSerializer,
        responses={200: StaffInvestmentSerializer, 202: StaffInvestmentSerializer},
    )
    @action(detail=True, methods=["post"])
    def review(self, request: Request, pk: str | None = None) -> Response:
        """Release a held investment (recorded on chain: 202) or reject it with a customer-facing
        `reason` and staff-only `notes`."""
        body = InvestmentReviewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        investment = services.review_investment(
            investment=self.get_object(), officer=request.user, **body.validated_data
        )
        code = (
            status.HTTP_202_ACCEPTED
            if investment.status == InvestmentStatus.RECORDING
            else status.HTTP_200_OK
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=investment.pk)).data, status=code)


class InvestorProfileView(APIView):
    """The investor's own figures for the 12-month limit; `accredited` comes from a credential."""

    permission_classes = [role_required("investor")]

    @extend_schema(responses=InvestorProfileSerializer)
    def get(self, request: Request) -> Response:
        return Response(InvestorProfileSerializer(services.profile_of(request.user)).data)

    @extend_schema(request=InvestorProfileSerializer, responses=InvestorProfileSerializer)
    def patch(self, request: Request) -> Response:
        body = InvestorProfileSerializer(services.profile_of(request.user), data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        profile = services.update_profile(user=request.user, **body.validated_data)
        return Response(InvestorProfileSerializer(profile).data)


class ShareCertificateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Share certificates: an investor sees the ones their wallet holds; compliance all."""

    serializer_class = ShareCertificateSerializer
    lookup_field = "token_id"
    permission_classes = [role_required("investor", "compliance", "operator")]
    filterset_fields = ["campaign", "status"]

    def get_queryset(self):
        return selectors.certificates_for(self.request.user)


class CertificateMetadataView(APIView):
    """GET /api/certificates/{token_id}/metadata.json: the ERC-721 metadata document `tokenURI`
    points at. Public (wallets and marketplaces fetch it without credentials) and cacheable."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={200: OpenApiResponse(description="ERC-721 metadata JSON"), 404: None})
    def get(self, request: Request, token_id: int) -> Response:
        document = selectors.certificate_metadata(token_id=token_id)
        if document is None:
            return Response({"code": "not_found", "message": "No such certificate."}, status=404)
        response = Response(document)
        response["Cache-Control"] = "public, max-age=300"
        return response
