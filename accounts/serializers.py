from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from rest_framework import serializers

from accounts.models import SELF_SERVICE_ROLES, User
from accounts.selectors import kyc_summary
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


class MeSerializer(serializers.ModelSerializer):
    email = serializers.CharField(read_only=True, help_text="empty when the account has none")
    kyc = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "email", "role", "wallet_address", "wallet_verified", "kyc"]
        read_only_fields = fields

    def get_kyc(self, user: User) -> dict:
        return KycSerializer(kyc_summary(user)).data


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
