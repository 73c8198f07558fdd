from django.apps import AppConfig


class CredentialsConfig(AppConfig):
    name = "credentials"

    def ready(self) -> None:
        from accounts.selectors import register_kyc_provider
        from credentials import chain, signals  # noqa: F401 - failure hooks, institution events, signals
        from credentials.onchain import handlers  # noqa: F401 - projections
        from credentials.selectors import kyb_credential_of, kyc_summary_for
        from issuers.kyb import register_kyb_resolver

        register_kyc_provider(kyc_summary_for)
        register_kyb_resolver(kyb_credential_of)
