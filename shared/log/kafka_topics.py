"""Create the log's topics when they are missing."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code

from shared.config import Settings

logger = logging.getLogger(__name__)


async def ensure_topics(
    bootstrap: str, topics: list[str], *, partitions: int, replication_factor: int
) -> None:
    """Create each topic that does not exist yet; existing topics are left as they are."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="journeymap-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [name for name in topics if name not in existing]
        if not missing:
            return
        response = await admin.create_topics(
            [NewTopic(name, partitions, replication_factor) for name in missing]
        )
        for name, code, *_ in response.topic_errors:
            # Another process may have created it first; anything else is a real failure.
            if code not in (0, TopicAlreadyExistsError.errno):
                raise for_code(code)(f"cannot create topic {name!r}")
        logger.info("created topics %s with %d partitions", missing, partitions)
    finally:
        await admin.close()


def ensure_log_topics(settings: Settings) -> Callable[[], Awaitable[None]]:
    """Creates the event topic and its dead-letter topic as configured."""
    return functools.partial(
        ensure_topics,
        settings.kafka_bootstrap,
        [settings.kafka_topic, settings.kafka_dlq_topic],
        partitions=settings.kafka_partitions,
        replication_factor=settings.kafka_replication_factor,
    )
