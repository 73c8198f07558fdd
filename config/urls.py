from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from blockchain.health import healthz
from campaigns.views import InvestorProfileView
from compliance.views import admin_index, dashboard_view
from core.api_fallback import api_not_found
from core.api_index import ApiIndexView
from core.metrics import metrics
from core.ops_access import docs_access, metrics_access
from credentials.verifier_page import verifier_page

urlpatterns = [
    path("admin/dashboard/", admin.site.admin_view(dashboard_view), name="admin-dashboard"),
    path("admin/", admin.site.admin_view(admin_index), name="admin-index"),  # index + dashboard link
    path("admin/", admin.site.urls),
    path("api/", ApiIndexView.as_view(), name="api-index"),
    path("api/auth/me/profile/", InvestorProfileView.as_view(), name="investor-profile"),
    path("api/auth/", include("accounts.urls")),
    path("api/", include("credentials.urls")),  # before blockchain/: /api/blockchain/verify/ and status/
    path("api/blockchain/", include("blockchain.urls")),
    path("api/wallets/", include("wallets.urls")),
    path("api/", include("issuers.urls")),
    path("api/", include("campaigns.urls")),
    path("api/", include("loans.urls")),
    path("api/webhooks/", include("webhooks.urls")),
    path("api/schema/", docs_access(SpectacularAPIView.as_view(), page=False), name="schema"),
    path(
        "api/docs/",
        docs_access(SpectacularSwaggerView.as_view(url_name="schema"), page=True),
        name="swagger-ui",
    ),
    path("api/redoc/", docs_access(SpectacularRedocView.as_view(url_name="schema"), page=True), name="redoc"),
    path("verify/", verifier_page, name="verifier"),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_access(metrics), name="metrics"),
    # Last: any other /api/ path is a JSON 404 (never Django's HTML page, in DEBUG too).
    re_path(r"^api/(?P<unmatched>.*)$", api_not_found, name="api-not-found"),
]

handler400 = "core.api.bad_request_view"
handler403 = "core.api.permission_denied_view"
handler404 = "core.api.not_found_view"
handler500 = "core.api.server_error_view"
