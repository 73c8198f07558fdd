"""The loans app on chain: `projection` (anchoring and repayment from surviving events) and
`handlers` (registration). Intents, reads and the reconciler still live in loans/chain.py."""
