from django.urls import path
from rest_framework.routers import SimpleRouter

from webhooks.views import DeliveryViewSet, EndpointViewSet, EventTypesView

router = SimpleRouter()
router.register("endpoints", EndpointViewSet, basename="webhook-endpoint")
router.register("deliveries", DeliveryViewSet, basename="webhook-delivery")

urlpatterns = [path("event-types/", EventTypesView.as_view(), name="webhook-event-types"), *router.urls]
