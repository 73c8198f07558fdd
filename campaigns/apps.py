from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"

    def ready(self) -> None:
        from campaigns import signals  # noqa: F401 - post_save: declared intents to the outbox
        from campaigns.announcements import CAMPAIGNS, CERTIFICATES, INVESTMENTS
        from campaigns.onchain import handlers, intents  # noqa: F401 - projections, failure hooks

        for announcer in (CAMPAIGNS, INVESTMENTS, CERTIFICATES):
            announcer.connect()  # after the intent signals: webhooks see the declared outbox rows
