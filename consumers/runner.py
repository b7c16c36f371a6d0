"""Durable JetStream consumers whose position lives in PostgreSQL, not in NATS.

A consumer's committed position is the truth; its durable is (re)created to start right after
it, so a rebuilt or restored database never skips or replays silently.
"""

import asyncpg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from command.eventlog import EventLog


async def position(conn: asyncpg.Connection | asyncpg.Pool, name: str) -> int:
    seq = await conn.fetchval("SELECT seq FROM projection_position WHERE name=$1", name)
    return int(seq or 0)


async def durable(log: EventLog, name: str, after: int, ack_wait: float = 30) -> object:
    """A pull subscription on durable `name` delivering from `after + 1`."""
    js = log.js
    try:
        info = await js.consumer_info(log.stream, name)
        if info.ack_floor is not None and (info.ack_floor.stream_seq or 0) > after:
            await js.delete_consumer(log.stream, name)  # the database went back in time
            raise NotFoundError
    except NotFoundError:
        config = ConsumerConfig(
            durable_name=name, ack_policy=AckPolicy.EXPLICIT, max_ack_pending=20_000,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=after + 1,
            ack_wait=ack_wait, max_deliver=-1, filter_subject=f"{log.prefix}.>")
        await js.add_consumer(log.stream, config)
    return await js.pull_subscribe_bind(name, stream=log.stream)
