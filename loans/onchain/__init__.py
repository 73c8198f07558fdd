"""The loans app on chain: `intents` (storeLoan, markRepaid), `projection` (anchoring and repayment
from surviving events), `handlers` (registration only), `reads` (`getLoan` in batches)."""
