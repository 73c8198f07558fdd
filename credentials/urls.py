from django.urls import path
from rest_framework.routers import SimpleRouter

from credentials.views import CredentialStatusView, CredentialViewSet, InstitutionViewSet, VerifyView

router = SimpleRouter()
router.register("institutions", InstitutionViewSet, basename="institution")
router.register("credentials", CredentialViewSet, basename="credential")

urlpatterns = [
    path("blockchain/verify/", VerifyView.as_view(), name="credential-verify"),
    path("blockchain/status/<int:credential_id>/", CredentialStatusView.as_view(), name="credential-status"),
    *router.urls,
]
