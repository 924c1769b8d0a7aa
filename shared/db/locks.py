"""Transaction-scoped advisory locks on text keys."""

from __future__ import annotations

# Advisory locks go in a bounded number of buckets per namespace, taken in bucket
# order: a batch touching thousands of keys must not exhaust PostgreSQL's lock table
# ("out of shared memory"), and a fixed order cannot deadlock.
LOCK_BUCKETS = 256
IDENTITY_LOCKS = 1
ALERT_LOCKS = 2
# Session lock: held shared by every running aggregator (shared/db/presence.py).
AGGREGATOR_LOCK = 3


def advisory_locks(namespace: int) -> str:
    """SQL locking the buckets of the text keys in $1, for this transaction."""
    return (
        f"SELECT pg_advisory_xact_lock({namespace}, b) FROM (SELECT DISTINCT "
        f"hashtext(k) & {LOCK_BUCKETS - 1} AS b FROM unnest($1::text[]) AS k) AS buckets "
        "ORDER BY b"
    )
