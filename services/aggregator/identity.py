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

from services.aggregator.store import Store
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


async def resolve(store: Store, touchpoints: Sequence[Touchpoint]) -> Resolution:
    links = _links(touchpoints)
    anonymous = {t.anonymous_id for t in touchpoints if not t.identified and t.anonymous_id}
    anonymous |= {anon for anon, _, _ in links}
    if not anonymous:
        return Resolution(list(touchpoints))
    if links:
        await store.lock_links({anon for anon, _, _ in links})
    known_links = await store.links(anonymous)
    resolution = Resolution([])
    if links:
        await _link(store, links, known_links, touchpoints, resolution)
    resolution.touchpoints = [
        t
        if t.identified or t.anonymous_id is None
        else replace(t, customer_id=known_links.get(t.anonymous_id, t.anonymous_id))
        for t in touchpoints
    ]
    return resolution


async def _link(
    store: Store,
    links: list[tuple[str, str, str]],
    known_links: dict[str, str],
    touchpoints: Sequence[Touchpoint],
    resolution: Resolution,
) -> None:
    known_customers = await store.identified({anon for anon, _, _ in links})
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
            await store.link(anon, customer, event_id)
            continue
        resolution.refused.append(reason)
        logger.warning("identity merge refused: %s", reason, extra={"event_id": event_id})
