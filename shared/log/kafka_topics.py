"""Create the log's topics when they are missing, or check that they exist.

Managed clusters often deny topic creation: with `kafka_create_topics = never` the
topics must exist, and a missing one stops the service with a message saying so.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Mapping

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code

from shared.config import Settings
from shared.errors import JourneymapError
from shared.log.kafka_connection import KafkaConnection, kafka_connection

logger = logging.getLogger(__name__)


class MissingTopics(JourneymapError):
    """A topic the log needs does not exist, and journeymap may not create it."""

    retriable = False


async def ensure_topics(
    connection: KafkaConnection,
    topics: list[str],
    *,
    partitions: int,
    replication_factor: int,
    config: Mapping[str, str] | None = None,
    create: bool = True,
) -> None:
    """Create each topic that does not exist yet (or, with `create` off, refuse to go on);
    existing topics are left as they are."""
    admin = AIOKafkaAdminClient(**connection.options("admin"))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [name for name in topics if name not in existing]
        if not missing:
            return
        if not create:
            raise MissingTopics(
                f"the topics {missing} do not exist on {connection.describe()}, and "
                "JOURNEYMAP_KAFKA_CREATE_TOPICS is 'never': create them first"
            )
        response = await admin.create_topics(
            [
                NewTopic(name, partitions, replication_factor, topic_configs=dict(config or {}))
                for name in missing
            ]
        )
        for name, code, *_ in response.topic_errors:
            # Another process may have created it first; anything else is a real failure.
            if code not in (0, TopicAlreadyExistsError.errno):
                raise for_code(code)(f"cannot create topic {name!r}")
        logger.info("created topics %s with %d partitions", missing, partitions)
    finally:
        await admin.close()


def ensure_log_topics(settings: Settings) -> Callable[[], Awaitable[None]]:
    """Creates (or checks) the event topic and its dead-letter topic as configured."""
    return functools.partial(
        ensure_topics,
        kafka_connection(settings),
        [settings.kafka_topic, settings.kafka_dlq_topic],
        partitions=settings.kafka_partitions,
        replication_factor=settings.kafka_replication_factor,
        config=settings.kafka_topic_config,
        create=settings.kafka_create_topics == "auto",
    )
