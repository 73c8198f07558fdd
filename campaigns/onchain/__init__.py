"""The campaigns app on chain: `intents` (what it asks of the chain), `projection` (its entities'
chain facts from surviving events), `handlers` (registration only), `reads` (contract views)."""
