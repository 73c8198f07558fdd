from rest_framework.routers import SimpleRouter

from loans.views import LoanViewSet

router = SimpleRouter()
router.register("loans", LoanViewSet, basename="loan")

urlpatterns = router.urls
