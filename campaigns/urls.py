from rest_framework.routers import SimpleRouter

from campaigns.views import CampaignViewSet, InvestmentViewSet, ShareCertificateViewSet

router = SimpleRouter()
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("investments", InvestmentViewSet, basename="investment")
router.register("certificates", ShareCertificateViewSet, basename="certificate")

urlpatterns = router.urls
