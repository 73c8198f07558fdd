"""The admin site: Django's, with its sign-in limited like the API's and, optionally, a second factor.

- A sign-in attempt (POST to /admin/login/) is counted per client IP and per username typed, under
  the same `login` and `login_account` limits as the API token endpoint (core.throttling); past them
  the answer is a 429 page saying when to try again, with Retry-After.
- With settings.ADMIN_REQUIRE_OTP (on in production) staff also give a one-time password from a
  django-otp device (a TOTP app, or a static recovery token), and a session not verified by one is
  treated as not staff, as django-otp's OTPAdminSite does.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import admin
from django.shortcuts import render
from django.utils import timezone
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite

from core.throttling import LoginThrottle


class PlatformAdminSite(admin.AdminSite):
    site_header = "LedgerBridge"
    site_title = "LedgerBridge admin"
    index_title = "LedgerBridge administration"

    # Read per request rather than fixed at start-up, so the setting is all that turns OTP on or off.
    @property
    def login_form(self):
        return OTPAdminAuthenticationForm if settings.ADMIN_REQUIRE_OTP else None

    @property
    def login_template(self):
        return OTPAdminSite.login_template if settings.ADMIN_REQUIRE_OTP else None

    def has_permission(self, request) -> bool:
        if not super().has_permission(request):
            return False
        return not settings.ADMIN_REQUIRE_OTP or request.user.is_verified()

    def login(self, request, extra_context=None):
        if request.method == "POST":
            throttle = LoginThrottle()
            if not throttle.allow_request(request, None):
                return self.login_throttled(request, wait=throttle.wait() or 1)
        return super().login(request, extra_context)

    def login_throttled(self, request, *, wait: int):
        context = {
            **self.each_context(request),
            "title": "Too many sign-in attempts",
            "wait": wait,
            "retry_at": timezone.now() + timedelta(seconds=wait),
            "login_url": request.get_full_path(),
        }
        response = render(request, "accounts/login_throttled.html", context, status=429)
        response["Retry-After"] = str(wait)
        return response
