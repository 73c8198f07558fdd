from django.urls import path, register_converter
from rest_framework.routers import SimpleRouter

from credentials.views import (
    CredentialProofView,
    CredentialStatusView,
    CredentialViewSet,
    InstitutionViewSet,
    VerifyView,
)


class CredentialKeyConverter:
    """A numeric id (the platform's, or the vault's with ?onchain=1) or a share id."""

    regex = "[0-9]+|[A-Za-z0-9_-]{22}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: object) -> str:
        return str(value)


register_converter(CredentialKeyConverter, "credential_key")

router = SimpleRouter()
router.register("institutions", InstitutionViewSet, basename="institution")
router.register("credentials", CredentialViewSet, basename="credential")

urlpatterns = [
    path("blockchain/verify/", VerifyView.as_view(), name="credential-verify"),
    path(
        "blockchain/status/<credential_key:credential_id>/",
        CredentialStatusView.as_view(),
        name="credential-status",
    ),
    path(
        "credentials/<credential_key:credential_id>/proof/",
        CredentialProofView.as_view(),
        name="credential-proof",
    ),
    *router.urls,
]
