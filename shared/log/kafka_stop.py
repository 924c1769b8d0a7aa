"""Stopping an aiokafka consumer, also while the brokers are unreachable.

aiokafka 0.14 cancels its in-flight fetches on stop and awaits them; one waiting out
its retry backoff re-raises that cancellation. It is not a cancellation of the caller,
so it must not abort the caller's work (a service's shutdown, an offset check): a
consumer group was left already, and journeymap's offsets are in PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer

logger = logging.getLogger(__name__)


async def stop_consumer(consumer: AIOKafkaConsumer) -> None:
    try:
        await consumer.stop()
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
        logger.warning(
            "a Kafka consumer stopped without closing its connections "
            "(a fetch was retrying: brokers unreachable?); they close with the process"
        )
