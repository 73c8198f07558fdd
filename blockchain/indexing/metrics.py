"""Prometheus series of the read path (indexer progress, lag, reorgs)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

INDEXER_EVENTS = Counter(
    "indexer_events_total", "Chain events indexed, by contract artifact and event", ["artifact", "event"]
)
# Gauges: with several processes, the value most recently set by any of them is the true one.
INDEXER_LAG = Gauge(
    "indexer_lag_blocks",
    "Blocks between the chain head and the indexed block",
    multiprocess_mode="mostrecent",
)
INDEXER_HEAD = Gauge("indexer_chain_head", "Latest block the indexer saw", multiprocess_mode="mostrecent")
INDEXER_INDEXED_BLOCK = Gauge(
    "indexer_indexed_block",
    "Highest block indexed for every watched contract",
    multiprocess_mode="mostrecent",
)
INDEXER_REORGS = Counter("indexer_reorgs_total", "Reorgs detected by the indexer")
INDEXER_REORG_DEPTH = Histogram(
    "indexer_reorg_depth_blocks", "Blocks rewound per reorg", buckets=(1, 2, 3, 5, 10, 20, 50, 100, 500)
)
