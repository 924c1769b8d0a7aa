"""Link anonymous visitors to known customers (Segment identify and alias).

An `identify` with both ids, or an `alias` (previousId -> userId), links an
anonymous id to a customer. From then on that anonymous id's touchpoints, earlier
and later ones alike, belong to the customer's maps: the stored ones are re-keyed
and the customer's maps rebuilt, so arrival order does not matter. Two known
customers are never merged: a link to a second customer, or an alias of an id that
was itself sent as a customer id, is refused and logged.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import asyncpg

from shared.db.locks import IDENTITY_LOCKS, advisory_locks
from shared.domain.touchpoint import Touchpoint

logger = logging.getLogger(__name__)

LINKING_TYPES = ("identify", "alias")


@dataclass(slots=True)
class Resolution:
    touchpoints: list[Touchpoint]  # with the customer each belongs to
    linked: dict[str, str] = field(default_factory=dict)  # anonymous id -> customer, new
    refused: list[str] = field(default_factory=list)  # why each refused merge was refused

    @property
    def rebuild(self) -> set[str]:
        """Customers whose maps must be rebuilt from all their touchpoints."""
        return set(self.linked.values())


def _links(touchpoints: Sequence[Touchpoint]) -> list[tuple[str, str, str]]:
    """(anonymous id, customer id, event id) of each linking call, in log order."""
    return [
        (t.anonymous_id, t.customer_id, t.event_id)
        for t in touchpoints
        if t.type in LINKING_TYPES
        and t.identified
        and t.anonymous_id is not None
        and t.anonymous_id != t.customer_id
    ]


async def resolve(conn: asyncpg.Connection, touchpoints: Sequence[Touchpoint]) -> Resolution:
    links = _links(touchpoints)
    anonymous = {t.anonymous_id for t in touchpoints if not t.identified and t.anonymous_id}
    anonymous |= {anon for anon, _, _ in links}
    if not anonymous:
        return Resolution(list(touchpoints))
    if links:
        # One linker per anonymous id at a time (their events may be on another partition).
        await conn.execute(advisory_locks(IDENTITY_LOCKS), sorted({anon for anon, _, _ in links}))
    rows = await conn.fetch(
        "SELECT anonymous_id, customer_id FROM identities WHERE anonymous_id = ANY($1::text[])",
        sorted(anonymous),
    )
    known_links = {row["anonymous_id"]: row["customer_id"] for row in rows}
    resolution = Resolution([])
    if links:
        await _link(conn, links, known_links, touchpoints, resolution)
    resolution.touchpoints = [
        t
        if t.identified or t.anonymous_id is None
        else replace(t, customer_id=known_links.get(t.anonymous_id, t.anonymous_id))
        for t in touchpoints
    ]
    return resolution


async def _link(
    conn: asyncpg.Connection,
    links: list[tuple[str, str, str]],
    known_links: dict[str, str],
    touchpoints: Sequence[Touchpoint],
    resolution: Resolution,
) -> None:
    candidates = sorted({anon for anon, _, _ in links})
    customers = await conn.fetch(
        "SELECT DISTINCT customer_id FROM touchpoints "
        "WHERE customer_id = ANY($1::text[]) AND identified",
        candidates,
    )
    known_customers = {row["customer_id"] for row in customers}
    known_customers |= {t.customer_id for t in touchpoints if t.identified}
    for anon, customer, event_id in links:
        current = known_links.get(anon)
        if current == customer:
            continue
        if current is not None:
            reason = f"{anon!r} is linked to {current!r}; not merging it into {customer!r}"
        elif anon in known_customers:
            reason = f"{anon!r} is a known customer; not merging it into {customer!r}"
        else:
            known_links[anon] = customer
            resolution.linked[anon] = customer
            await conn.execute(
                "INSERT INTO identities (anonymous_id, customer_id, linked_at, event_id) "
                "VALUES ($1, $2, now(), $3)",
                anon,
                customer,
                event_id,
            )
            await conn.execute(
                "UPDATE touchpoints SET customer_id = $2 "
                "WHERE anonymous_id = $1 AND NOT identified AND customer_id = $1",
                anon,
                customer,
            )
            continue
        resolution.refused.append(reason)
        logger.warning("identity merge refused: %s", reason, extra={"event_id": event_id})
