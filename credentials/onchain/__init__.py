"""The credentials app on chain: `projection` (credentials and batches from surviving events) and
`handlers` (registration). Intents and reads still live in credentials/chain.py."""
