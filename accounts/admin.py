from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import User, WalletChallenge


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "email", "role", "wallet_address", "wallet_verified", "is_staff", "is_active")
    list_filter = ("role", "wallet_verified", "is_staff", "is_active")
    search_fields = ("username", "email", "wallet_address")
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        ("Platform", {"fields": ("role", "wallet_address", "wallet_verified", "wallet_verified_at")}),
    )
    add_fieldsets = (*DjangoUserAdmin.add_fieldsets, ("Platform", {"fields": ("role",)}))
    # A wallet is bound only by a signed EIP-4361 message, never typed in by an admin.
    readonly_fields = ("wallet_address", "wallet_verified", "wallet_verified_at", "last_login", "date_joined")


@admin.register(WalletChallenge)
class WalletChallengeAdmin(admin.ModelAdmin):
    list_display = ("user", "address", "issued_at", "expires_at", "used_at")
    list_filter = ("used_at",)
    search_fields = ("user__username", "address", "nonce")
    readonly_fields = ("user", "address", "nonce", "message", "issued_at", "expires_at", "used_at")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
