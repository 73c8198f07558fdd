from rest_framework.routers import SimpleRouter

from blockchain.views import ChainTransactionViewSet

router = SimpleRouter()
router.register("transactions", ChainTransactionViewSet, basename="chain-transaction")

urlpatterns = router.urls
