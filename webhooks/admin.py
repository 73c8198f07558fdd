"""Operators manage webhook endpoints and read the delivery log in the admin, as in the API."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html

from core.admin_tools import RoleActionsMixin, apply_to_each
from webhooks import services, targets
from webhooks.catalogue import EVENT_TYPES
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

EDITABLE = ("url", "description", "event_types", "active")


class OperatorOnly(RoleActionsMixin):
    """Webhook configuration is the operators' (the API says the same)."""

    def _is_operator(self, request) -> bool:
        return request.user.is_active and request.user.has_role("operator")

    def has_module_permission(self, request) -> bool:
        return self._is_operator(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return self._is_operator(request)


class EndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=2000, assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        choices=[(name, f"{name}: {text}") for name, text in EVENT_TYPES.items()],
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = WebhookEndpoint
        fields = list(EDITABLE)

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        try:
            targets.check_url(url)
        except targets.UnsafeTarget as exc:
            raise forms.ValidationError(str(exc)) from None
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(OperatorOnly, admin.ModelAdmin):
    form = EndpointForm
    list_display = (
        "id",
        "url",
        "description",
        "active",
        "subscriptions",
        "consecutive_failures",
        "disabled_at",
    )
    list_filter = ("active",)
    search_fields = ("url", "description")
    readonly_fields = (
        "created_by",
        "created_at",
        "updated_at",
        "secret_rotated_at",
        "consecutive_failures",
        "failing_since",
        "disabled_at",
        "disabled_reason",
    )
    actions = ["rotate_secrets"]

    def has_add_permission(self, request) -> bool:
        return self._is_operator(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._is_operator(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._is_operator(request)

    @admin.display(description="event types")
    def subscriptions(self, obj: WebhookEndpoint) -> str:
        return f"{len(obj.event_types)} of {len(EVENT_TYPES)}"

    def save_model(self, request, obj: WebhookEndpoint, form, change: bool) -> None:
        values = {name: form.cleaned_data[name] for name in EDITABLE}
        if change:
            changed = {name: values[name] for name in form.changed_data if name in EDITABLE}
            saved = services.update_endpoint(endpoint=obj, **changed) if changed else obj
        else:
            saved, secret = services.create_endpoint(**values, created_by=request.user)
            self.message_user(
                request,
                format_html(
                    "Endpoint {} registered. Its signing secret, shown this once: <code>{}</code>",
                    saved.pk,
                    secret.reveal(),
                ),
                messages.WARNING,
            )
        obj.pk = saved.pk

    @admin.action(description="Rotate the signing secret of the selected endpoints", permissions=["operator"])
    def rotate_secrets(self, request, queryset) -> None:
        def rotate(endpoint: WebhookEndpoint) -> None:
            secret = services.rotate_secret(endpoint=endpoint)
            self.message_user(
                request,
                format_html(
                    "New secret of endpoint {}, shown this once: <code>{}</code>",
                    endpoint.pk,
                    secret.reveal(),
                ),
                messages.WARNING,
            )

        apply_to_each(self, request, queryset, rotate, done="secrets rotated")


class AttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ("number", "started_at", "status_code", "latency_ms", "error", "response_excerpt")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(OperatorOnly, admin.ModelAdmin):
    list_display = (
        "id",
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
    )
    list_filter = ("status", "event__event_type")
    list_select_related = ("event", "endpoint")
    search_fields = ("event__id",)
    inlines = [AttemptInline]
    actions = ["redeliver"]
    fields = (
        "event",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "last_attempt_at",
        "next_attempt_at",
        "delivered_at",
        "window_started_at",
        "body",
    )
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="event type", ordering="event__event_type")
    def event_type(self, obj: WebhookDelivery) -> str:
        return obj.event.event_type

    @admin.display(description="body sent")
    def body(self, obj: WebhookDelivery) -> str:
        return format_html("<pre style='white-space:pre-wrap'>{}</pre>", obj.event.body)

    @admin.action(description="Redeliver the selected deliveries now", permissions=["operator"])
    def redeliver(self, request, queryset) -> None:
        apply_to_each(
            self,
            request,
            queryset,
            lambda delivery: services.redeliver(delivery=delivery),
            done="deliveries queued again",
        )
