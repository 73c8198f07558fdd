from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from drf_spectacular.contrib.rest_framework_simplejwt import (
    TokenObtainPairSerializerExtension,
    TokenRefreshSerializerExtension,
)
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt import serializers as jwt_serializers
from rest_framework_simplejwt.settings import api_settings as jwt_settings

from accounts.models import SELF_SERVICE_ROLES, User
from accounts.selectors import institutions_of, kyc_summary
from accounts.tokens import RefreshToken, is_current
from blockchain.chain.fields import EthereumAddressField


class RegisterSerializer(serializers.Serializer):
    username = serializers.RegexField(
        r"^[\w.@+-]{3,150}$",
        error_messages={"invalid": "3-150 characters: letters, digits and @/./+/-/_ only."},
    )
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(
        write_only=True, min_length=10, max_length=128, style={"input_type": "password"}
    )
    role = serializers.ChoiceField(choices=sorted(SELF_SERVICE_ROLES))

    def validate_username(self, value: str) -> str:
        if User.objects.filter(username__iexact=value).exists():
            raise serializers.ValidationError("This username is taken.", code="username_taken")
        return value

    def validate_email(self, value: str) -> str:
        value = value.strip()
        if User.objects.filter(email__iexact=value).exists():
            raise serializers.ValidationError("An account with this email exists.", code="email_taken")
        return value

    def validate(self, attrs: dict) -> dict:
        try:
            validate_password(attrs["password"], User(username=attrs["username"], email=attrs["email"]))
        except Exception as exc:  # django ValidationError carries the per-rule messages
            raise serializers.ValidationError(
                {"password": list(getattr(exc, "messages", [str(exc)]))}
            ) from None
        return attrs


class RegisteredUserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "email", "role"]


class KycSerializer(serializers.Serializer):
    status = serializers.CharField()
    credential_id = serializers.IntegerField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)


class MembershipSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    address = serializers.CharField(help_text="the institution's address (GET /api/institutions/{address}/)")
    name = serializers.CharField()
    role = serializers.ChoiceField(
        choices=["member"], help_text="member: issues and revokes the institution's credentials"
    )


class MeSerializer(serializers.ModelSerializer):
    email = serializers.CharField(read_only=True, help_text="empty when the account has none")
    kyc = serializers.SerializerMethodField()
    institutions = serializers.SerializerMethodField(help_text="the institutions this user is a member of")

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "email",
            "role",
            "wallet_address",
            "wallet_verified",
            "kyc",
            "institutions",
        ]
        read_only_fields = fields

    def get_kyc(self, user: User) -> dict:
        return KycSerializer(kyc_summary(user)).data

    @extend_schema_field(MembershipSerializer(many=True))
    def get_institutions(self, user: User) -> list[dict]:
        return MembershipSerializer(institutions_of(user), many=True).data


class WalletChallengeRequestSerializer(serializers.Serializer):
    address = EthereumAddressField()


class WalletChallengeResponseSerializer(serializers.Serializer):
    message = serializers.CharField()
    nonce = serializers.CharField()
    expires_at = serializers.DateTimeField()


class WalletVerifyRequestSerializer(serializers.Serializer):
    message = serializers.CharField(max_length=4000, trim_whitespace=False)
    signature = serializers.RegexField(
        r"^(0x)?[0-9a-fA-F]{130}$", error_messages={"invalid": "The signature must be 65 bytes of hex."}
    )


class WalletVerifyResponseSerializer(serializers.Serializer):
    wallet_address = serializers.CharField()
    wallet_verified = serializers.BooleanField()


class TokenObtainPairSerializer(jwt_serializers.TokenObtainPairSerializer):
    """simplejwt's sign-in, issuing tokens stamped with the user's token generation."""

    token_class = RefreshToken


class TokenRefreshSerializer(jwt_serializers.TokenRefreshSerializer):
    """simplejwt's refresh (rotating: the token used is blacklisted), refused for a token whose user
    is gone, inactive, or had every token revoked since it was issued; such a token may predate the
    blacklist, so it is not enough that it is not blacklisted."""

    token_class = RefreshToken

    def validate(self, attrs: dict) -> dict:
        refresh = self.token_class(attrs["refresh"])
        user = User.objects.filter(pk=refresh.payload.get(jwt_settings.USER_ID_CLAIM)).first()
        if user is None or not user.is_active or not is_current(refresh, user):
            raise AuthenticationFailed(
                "This token was revoked (password changed or account deactivated); sign in again.",
                code="token_revoked",
            )
        return super().validate(attrs)


class PlatformTokenObtainPairSchema(TokenObtainPairSerializerExtension):
    target_class = "accounts.serializers.TokenObtainPairSerializer"


class PlatformTokenRefreshSchema(TokenRefreshSerializerExtension):
    target_class = "accounts.serializers.TokenRefreshSerializer"
