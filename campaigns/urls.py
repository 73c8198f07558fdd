from django.urls import path
from rest_framework.routers import SimpleRouter

from campaigns.views import (
    CampaignViewSet,
    CertificateMetadataView,
    InvestmentViewSet,
    ShareCertificateViewSet,
)

router = SimpleRouter()
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("investments", InvestmentViewSet, basename="investment")
router.register("certificates", ShareCertificateViewSet, basename="certificate")

urlpatterns = [
    # Before the router: its certificate detail route would otherwise take "{id}/metadata.json".
    path(
        "certificates/<int:token_id>/metadata.json",
        CertificateMetadataView.as_view(),
        name="certificate-metadata",
    ),
    *router.urls,
]
