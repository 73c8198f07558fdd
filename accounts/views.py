from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import permissions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.views import TokenBlacklistView

from accounts import services
from accounts.serializers import (
    MeSerializer,
    RegisteredUserSerializer,
    RegisterSerializer,
    WalletChallengeRequestSerializer,
    WalletChallengeResponseSerializer,
    WalletVerifyRequestSerializer,
    WalletVerifyResponseSerializer,
)


class RegisterView(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []

    @extend_schema(request=RegisterSerializer, responses={201: RegisteredUserSerializer})
    def post(self, request: Request) -> Response:
        serializer = RegisterSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.create_user(**serializer.validated_data, validate=False)
        return Response(RegisteredUserSerializer(user).data, status=status.HTTP_201_CREATED)


class LogoutView(TokenBlacklistView):
    """Sign out one session: POST {refresh} blacklists that refresh token (205, no body). Its access
    token expires on its own (JWT_ACCESS_MINUTES); a password change ends every session at once."""

    @extend_schema(responses={205: None})
    def post(self, request: Request, *args, **kwargs) -> Response:
        super().post(request, *args, **kwargs)  # a token that is not a valid refresh token: 401
        return Response(status=status.HTTP_205_RESET_CONTENT)


class MeView(APIView):
    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)


class WalletChallengeView(APIView):
    @extend_schema(
        request=WalletChallengeRequestSerializer, responses={201: WalletChallengeResponseSerializer}
    )
    def post(self, request: Request) -> Response:
        serializer = WalletChallengeRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # The message names the site the wallet is asked from (Django has checked the host).
        host = request.get_host()
        challenge = services.issue_wallet_challenge(
            user=request.user,
            address=serializer.validated_data["address"],
            domain=host,
            uri=f"{request.scheme}://{host}",
        )
        body = {"message": challenge.message, "nonce": challenge.nonce, "expires_at": challenge.expires_at}
        return Response(WalletChallengeResponseSerializer(body).data, status=status.HTTP_201_CREATED)


class WalletVerifyView(APIView):
    @extend_schema(request=WalletVerifyRequestSerializer, responses=WalletVerifyResponseSerializer)
    def post(self, request: Request) -> Response:
        serializer = WalletVerifyRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.bind_wallet(user=request.user, **serializer.validated_data)
        return Response(WalletVerifyResponseSerializer(user).data)
