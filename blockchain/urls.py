from django.urls import path
from rest_framework.routers import SimpleRouter

from blockchain.views import ChainTransactionViewSet, SyncStatusView

router = SimpleRouter()
router.register("transactions", ChainTransactionViewSet, basename="chain-transaction")

urlpatterns = [path("sync/", SyncStatusView.as_view(), name="chain-sync"), *router.urls]
