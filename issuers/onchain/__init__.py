"""The issuers app on chain: `intents` (registerIssuer), `projection` (a company's registration from
surviving events), `handlers` (registration only), `reads` (`isRegisteredIssuer` for reconcile)."""
