from rest_framework.routers import SimpleRouter

from issuers.views import CompanyViewSet

router = SimpleRouter()
router.register("issuers", CompanyViewSet, basename="issuer")

urlpatterns = router.urls
