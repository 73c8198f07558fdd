"""The issuers app on chain: `projection` (a company's registration from surviving events) and
`handlers` (registration). Intents and reads still live in issuers/chain.py."""
