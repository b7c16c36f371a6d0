"""Durable JetStream consumers whose position lives in PostgreSQL (consumers/positions.py).

A consumer's committed position is the truth. A dead run's unacked deliveries would return only
after `ack_wait`, behind later events that move the position past them; so every run recreates
its durable to start right after the committed position, and a gap in the delivery sequence
(a message lost in a reconnect) ends the run rather than skipping an event.
"""

import asyncio
import contextlib
from typing import Any

from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from command.infra.eventlog import EventLog
from consumers.pull_batches import Puller


class MissedDelivery(RuntimeError):
    """A delivery never reached this run; applying what follows it would skip an event."""

    def __init__(self, expected: int, got: int) -> None:
        super().__init__(f"expected consumer delivery {expected}, got {got}")


async def durable(log: EventLog, name: str, after: int, ack_wait: float = 30) -> Any:
    """A pull subscription on durable `name`, recreated to deliver from `after + 1`. Acks are
    flow control only (the position is in PostgreSQL): with AckPolicy.ALL one acks a batch."""
    js = log.js
    with contextlib.suppress(NotFoundError):
        await js.delete_consumer(log.stream, name)
    config = ConsumerConfig(
        durable_name=name, ack_policy=AckPolicy.ALL, max_ack_pending=20_000,
        deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=after + 1,
        ack_wait=ack_wait, max_deliver=-1, filter_subject=f"{log.prefix}.>")
    await js.add_consumer(log.stream, config)
    return await Puller(log.nc, log.stream, name).start()


def in_order(delivered: int, msgs: list[Any]) -> int:
    """The last consumer sequence of `msgs`, which must follow `delivered` without a gap."""
    for m in msgs:
        if m.metadata.sequence.consumer != delivered + 1:
            raise MissedDelivery(delivered + 1, m.metadata.sequence.consumer)
        delivered = m.metadata.sequence.consumer
    return delivered


async def fetch(sub: Any, batch: int, timeout: float = 1.0) -> list[Any]:
    """Up to `batch` messages, or none after `timeout`. Python 3.11's wait_for can turn a cancel
    into a timeout; a cancelled task must stop, so that is raised again here."""
    try:
        return await sub.fetch(batch, timeout=timeout)
    except (TimeoutError, NatsTimeout):
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise asyncio.CancelledError from None
        return []
