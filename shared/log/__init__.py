"""The event log: ingest appends to it, the aggregator reads from it."""
