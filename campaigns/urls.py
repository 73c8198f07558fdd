from rest_framework.routers import SimpleRouter

from campaigns.views import CampaignViewSet, InvestmentViewSet

router = SimpleRouter()
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("investments", InvestmentViewSet, basename="investment")

urlpatterns = router.urls
