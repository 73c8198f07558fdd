"""The credentials app on chain: `intents` (what it asks of the CredentialVault), `projection`
(credentials, batches and institutions from surviving events), `handlers` (registration only),
`reads` (contract views for verification and reconcile)."""
