"""Institutions, credentials, verification and proof bundles (the API; the page is verifier_page.py)."""

from __future__ import annotations

import django_filters
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from blockchain.chain.addresses import InvalidAddress, normalize_address
from blockchain.selectors import where_shown
from core.api import NotFound, bearer_authentication_classes, role_required
from core.throttling import AnonymousVerifyThrottle
from credentials import selectors, services
from credentials.disclosure import bundle_for, status_for, verify_for
from credentials.models import Credential
from credentials.serializers import (
    AddInstitutionMemberSerializer,
    BatchIssueSerializer,
    CredentialBatchSerializer,
    CredentialSerializer,
    CredentialStatusRequestSerializer,
    CredentialStatusSerializer,
    InstitutionMemberSerializer,
    InstitutionSerializer,
    IssueCredentialSerializer,
    ProofBundleSerializer,
    RevokeSerializer,
    VerificationSerializer,
    VerifyRequestSerializer,
    credential_representation,
    verification_representation,
)

ISSUERS = role_required("institution", "operator")


class InstitutionViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Institutions, from the cache of InstitutionUpserted. Operators create and change them."""

    serializer_class = InstitutionSerializer
    lookup_field = "address"
    lookup_value_regex = "0x[0-9a-fA-F]{40}"

    def get_queryset(self):
        return selectors.institutions()

    OPERATOR_ACTIONS = frozenset({"create", "members", "add_member", "remove_member"})

    def get_permissions(self):
        return [
            role_required("operator")() if self.action in self.OPERATOR_ACTIONS else permissions.AllowAny()
        ]

    def get_object(self):
        try:
            address = normalize_address(self.kwargs["address"])
        except InvalidAddress:
            raise NotFound("No such institution.") from None
        institution = self.get_queryset().filter(address=address).first()
        if institution is None:
            raise NotFound("No such institution.")
        return institution

    @extend_schema(responses={202: InstitutionSerializer})
    def create(self, request: Request, *args, **kwargs) -> Response:
        """Create or change an institution (upsertInstitution on chain)."""
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        institution = services.upsert_institution(
            address=body.validated_data["address"],
            name=body.validated_data["name"],
            metadata_uri=body.validated_data.get("metadata_uri", ""),
            kyc_provider=body.validated_data.get("kyc_provider", False),
            active=body.validated_data.get("active", True),
        )
        return Response(
            self.get_serializer(self.get_queryset().get(pk=institution.pk)).data,
            status=status.HTTP_202_ACCEPTED,
        )

    @extend_schema(responses=InstitutionMemberSerializer(many=True))
    @action(detail=True, methods=["get"])
    def members(self, request: Request, address: str | None = None) -> Response:
        """The institution's members (who may issue and revoke its credentials). Operators only."""
        page = self.paginate_queryset(selectors.institution_members(self.get_object()))
        return self.get_paginated_response(InstitutionMemberSerializer(page, many=True).data)

    @extend_schema(
        request=AddInstitutionMemberSerializer,
        responses={
            201: InstitutionMemberSerializer,
            200: OpenApiResponse(InstitutionMemberSerializer, description="already a member"),
            400: OpenApiResponse(description="unknown_user, or member_not_eligible (investor, inactive)"),
        },
    )
    @members.mapping.post
    def add_member(self, request: Request, address: str | None = None) -> Response:
        """Add a member by `user_id` or `username`; never an investor. Nothing goes on chain."""
        institution = self.get_object()
        body = AddInstitutionMemberSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = body.validated_data["user"]
        added = services.add_institution_member(institution=institution, user=user)
        return Response(
            InstitutionMemberSerializer(user).data,
            status=status.HTTP_201_CREATED if added else status.HTTP_200_OK,
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("user_id", int, OpenApiParameter.PATH, description="the member's user id")
        ],
        responses={204: None, 404: OpenApiResponse(description="not_a_member")},
    )
    @action(detail=True, methods=["delete"], url_path=r"members/(?P<user_id>[0-9]+)")
    def remove_member(
        self, request: Request, address: str | None = None, user_id: str | None = None
    ) -> Response:
        """End a membership (the user stays; they can no longer issue or revoke for the institution)."""
        institution = self.get_object()
        user = selectors.institution_members(institution).filter(pk=int(user_id)).first()
        if user is None:
            raise NotFound("No such member of this institution.", code="not_a_member")
        services.remove_institution_member(institution=institution, user=user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CredentialFilter(django_filters.FilterSet):
    institution = django_filters.CharFilter(field_name="institution__address", lookup_expr="iexact")
    subject_wallet = django_filters.CharFilter(lookup_expr="iexact")
    # The status the API shows (selectors.with_shown_status), so a filter and a row never disagree.
    status = django_filters.ChoiceFilter(
        choices=[(s, s) for s in selectors.SHOWN_CREDENTIAL_STATUSES],
        field_name="shown_status",
        method="filter_shown_status",
    )
    credential_type = django_filters.CharFilter()
    batch = django_filters.UUIDFilter(
        field_name="batch__public_id", help_text="a batch's `batch_id` (as the batch response gives it)"
    )

    class Meta:
        model = Credential
        fields = ["institution", "subject_wallet", "status", "credential_type", "batch"]

    def filter_shown_status(self, queryset, name, value):
        """Only a filtered list pays for the SQL form of the shown status."""
        return where_shown(queryset, selectors.SHOWN_STATUS_RULES, value)


class CredentialViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Credentials: an institution sees its own, the subject theirs, compliance and operators all."""

    serializer_class = CredentialSerializer
    filterset_class = CredentialFilter
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no database
            return Credential.objects.none()
        return selectors.credentials_for(self.request.user)

    def get_permissions(self):
        if self.action in ("issue", "batch", "revoke"):
            return [ISSUERS()]
        return [permissions.IsAuthenticated()]

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        """One credential: the subject, its institution's members, compliance and operators (404 for
        anyone else, whether it exists or not)."""
        if request.query_params:  # the unknown-parameter check and the filters: the generic path
            return super().retrieve(request, *args, **kwargs)
        # The same row, visibility and representation as the generic path, in one precompiled
        # statement and without building the serializer (selectors.credential_detail).
        credential = selectors.credential_detail(request.user, int(self.kwargs[self.lookup_field]))
        if credential is None:
            raise Http404
        self.check_object_permissions(request, credential)
        return Response(credential_representation(credential))

    @extend_schema(request=IssueCredentialSerializer, responses={202: CredentialSerializer})
    @action(detail=False, methods=["post"])
    def issue(self, request: Request) -> Response:
        """Anchor one credential (issueCredential)."""
        body = IssueCredentialSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        credential = services.issue_credential(actor=request.user, **body.validated_data)
        return Response(self.get_serializer(credential).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=BatchIssueSerializer, responses={202: CredentialBatchSerializer})
    @action(detail=False, methods=["post"])
    def batch(self, request: Request) -> Response:
        """Anchor up to 1,000 credentials with one Merkle root (anchorBatch)."""
        body = BatchIssueSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        batch = services.issue_batch(
            actor=request.user,
            institution=body.validated_data["institution"],
            items=body.validated_data["credentials"],
        )
        return Response(CredentialBatchSerializer(batch).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=RevokeSerializer,
        responses={202: CredentialSerializer, 409: OpenApiResponse(description="not issued")},
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        body = RevokeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        credential = Credential.objects.filter(pk=pk).first()
        if credential is None:
            raise NotFound("No such credential.")
        credential = services.revoke_credential(
            actor=request.user, credential=credential, reason=body.validated_data["reason"]
        )
        return Response(self.get_serializer(credential).data, status=status.HTTP_202_ACCEPTED)


# Anyone may call the public verification endpoints; a bearer token (the API's own authentication,
# with its revocation checks) only widens which ids answer (credentials.disclosure). No session
# authentication: an anonymous POST must never meet a CSRF check because the browser happens to carry
# an admin session.
PUBLIC_AUTHENTICATION = bearer_authentication_classes()

CREDENTIAL_KEY = OpenApiParameter(
    "credential_id",
    str,
    OpenApiParameter.PATH,
    pattern=r"^(?:[0-9]+|[A-Za-z0-9_-]{22})$",
    description="the credential's share id (anyone holding it), or its numeric id (who may see it)",
)


class PublicCredentialView(APIView):
    """Open to anyone, throttled per caller; a bearer token only widens which ids answer."""

    permission_classes = [permissions.AllowAny]
    authentication_classes = PUBLIC_AUTHENTICATION
    throttle_classes = [AnonymousVerifyThrottle]


class VerifyView(PublicCredentialView):
    """Anyone may verify by share id, fingerprint, document or proof bundle: from the cache when the
    platform knows the credential, else the chain. The sequential ids answer only for who may see it."""

    @extend_schema(request=VerifyRequestSerializer, responses=VerificationSerializer)
    def post(self, request: Request) -> Response:
        body = VerifyRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = verify_for(request.user, **body.validated_data)
        return Response(verification_representation(result))


class CredentialStatusView(PublicCredentialView):
    @extend_schema(
        parameters=[
            CREDENTIAL_KEY,
            OpenApiParameter("onchain", bool, description="read a numeric `credential_id` as the vault's id"),
        ],
        responses=CredentialStatusSerializer,
    )
    def get(self, request: Request, credential_id: str) -> Response:
        """By share id, anyone. By the platform's id (`?onchain=1`: the vault's id), only the
        credential's subject, its institution's members, compliance and operators; anyone else gets
        404, whether the credential exists or not."""
        body = CredentialStatusRequestSerializer(
            data={"credential_id": credential_id, "onchain": request.query_params.get("onchain", False)}
        )
        body.is_valid(raise_exception=True)
        result = status_for(
            request.user, key=body.validated_data["credential_id"], onchain=body.validated_data["onchain"]
        )
        return Response(CredentialStatusSerializer(result).data)


class CredentialProofView(PublicCredentialView):
    @extend_schema(
        parameters=[CREDENTIAL_KEY],
        responses={
            200: OpenApiResponse(
                ProofBundleSerializer, description="the proof bundle (docs/proof-bundles.md)"
            ),
            404: OpenApiResponse(description="no such credential, or not yours"),
            409: OpenApiResponse(description="not_anchored, or document_unknown (seen only on chain)"),
        },
    )
    def get(self, request: Request, credential_id: str) -> Response:
        """A self-contained proof bundle: the document, its fingerprint and where it is anchored, for
        anyone to check against the chain (POST /api/blockchain/verify/, the /verify/ page, or
        scripts/verify_bundle.py)."""
        response = Response(bundle_for(request.user, key=credential_id))
        response["Content-Disposition"] = f'inline; filename="credential-proof-{credential_id}.json"'
        response["Cache-Control"] = "private, no-store"
        return response
