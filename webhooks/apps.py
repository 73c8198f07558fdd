from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from webhooks.models import WebhookEndpoint
        from webhooks.services import forget_endpoints

        post_save.connect(forget_endpoints, sender=WebhookEndpoint, dispatch_uid="webhooks.forget_endpoints")
        post_delete.connect(
            forget_endpoints, sender=WebhookEndpoint, dispatch_uid="webhooks.forget_endpoints_d"
        )
