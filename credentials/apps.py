from django.apps import AppConfig


class CredentialsConfig(AppConfig):
    name = "credentials"

    def ready(self) -> None:
        from accounts.selectors import register_kyc_provider
        from credentials import signals  # noqa: F401 - declared intents to the outbox
        from credentials.announcements import CREDENTIALS
        from credentials.onchain import handlers, intents  # noqa: F401 - projections, reconcilers, failure hooks
        from credentials.selectors import kyb_credential_of, kyc_summary_for
        from issuers.kyb import register_kyb_resolver

        register_kyc_provider(kyc_summary_for)
        register_kyb_resolver(kyb_credential_of)
        CREDENTIALS.connect()  # after the intent signals: webhooks see the declared outbox rows
