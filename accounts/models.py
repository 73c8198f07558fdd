from __future__ import annotations

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models.functions import Lower


class Role(models.TextChoices):
    INVESTOR = "investor", "Investor"
    ISSUER = "issuer", "Issuer"
    INSTITUTION = "institution", "Institution"
    COMPLIANCE = "compliance", "Compliance officer"
    OPERATOR = "operator", "Operator"


# Roles that work in the Django admin.
STAFF_ROLES = frozenset({Role.COMPLIANCE, Role.OPERATOR})
# Roles anyone may pick when registering themselves; the rest are created by an operator.
SELF_SERVICE_ROLES = frozenset({Role.INVESTOR, Role.ISSUER})


class User(AbstractUser):
    """A platform user. A wallet is bound only through a verified EIP-4361 signature."""

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.INVESTOR, db_index=True)
    wallet_address = models.CharField(
        max_length=42,
        null=True,
        blank=True,
        unique=True,
        help_text="EIP-55 checksummed; set by wallet binding.",
    )
    wallet_verified = models.BooleanField(default=False)
    wallet_verified_at = models.DateTimeField(null=True, blank=True)
    # Every API token carries the generation it was issued in; moving it on revokes them all
    # (accounts.tokens, accounts.services.revoke_tokens).
    token_generation = models.PositiveIntegerField(default=0, editable=False)

    objects = UserManager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(wallet_address__isnull=True)
                | models.Q(wallet_address__regex=r"^0x[0-9a-fA-F]{40}$"),
                name="user_wallet_address_format",
            ),
            models.CheckConstraint(
                condition=models.Q(wallet_verified=False) | models.Q(wallet_address__isnull=False),
                name="user_verified_wallet_has_address",
            ),
            models.UniqueConstraint(
                Lower("email"), condition=~models.Q(email=""), name="user_email_unique_ci"
            ),
        ]

    def has_role(self, *roles: str) -> bool:
        return self.is_superuser or self.role in roles


class WalletChallenge(models.Model):
    """A single-use EIP-4361 message issued to a user for binding one wallet."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="wallet_challenges")
    address = models.CharField(max_length=42)
    nonce = models.CharField(max_length=64, unique=True)
    message = models.TextField()
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "issued_at"])]

    def __str__(self) -> str:
        return f"challenge {self.nonce} for {self.address}"


class InvestorProfile(models.Model):
    """What an investor's 12-month limit is computed from (Regulation Crowdfunding). Amounts in USD.
    Whether the investor is accredited is never stored here: it comes from a valid accreditation
    credential."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="investor_profile")
    annual_income = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    net_worth = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    country = models.CharField(max_length=2, blank=True, default="", help_text="ISO 3166-1 alpha-2")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(annual_income__gte=0, net_worth__gte=0),
                name="investor_profile_amounts_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(country="") | models.Q(country__regex=r"^[A-Z]{2}$"),
                name="investor_profile_country",
            ),
        ]

    def __str__(self) -> str:
        return f"profile of {self.user_id}"
