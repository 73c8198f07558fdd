from django.urls import path
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from accounts import views
from core.throttling import LoginThrottle, RefreshThrottle, RegisterThrottle

urlpatterns = [
    path("register/", views.RegisterView.as_view(throttle_classes=[RegisterThrottle]), name="auth-register"),
    path("token/", TokenObtainPairView.as_view(throttle_classes=[LoginThrottle]), name="auth-token"),
    path(
        "token/refresh/",
        TokenRefreshView.as_view(throttle_classes=[RefreshThrottle]),
        name="auth-token-refresh",
    ),
    path("logout/", views.LogoutView.as_view(), name="auth-logout"),
    path("me/", views.MeView.as_view(), name="auth-me"),
    path("wallet/challenge/", views.WalletChallengeView.as_view(), name="auth-wallet-challenge"),
    path("wallet/verify/", views.WalletVerifyView.as_view(), name="auth-wallet-verify"),
]
