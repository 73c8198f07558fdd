from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    name = "accounts"
    default = True  # apps.py also holds the admin's config below

    def ready(self) -> None:
        from accounts import receivers  # noqa: F401  (token revocation on password change, deactivation)


class PlatformAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the platform's site as `admin.site` (Django's documented way to
    replace the default site), listed in INSTALLED_APPS in its place."""

    default = False
    default_site = "accounts.admin_site.PlatformAdminSite"
