from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"

    def ready(self) -> None:
        from campaigns import signals  # noqa: F401 - post_save: declared intents to the outbox
        from campaigns.onchain import handlers, intents  # noqa: F401 - projections, failure hooks
