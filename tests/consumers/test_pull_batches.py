"""The pull consumer's batches, against a real nats-server: in order, none lost, none doubled."""

import asyncio

import pytest
from nats.errors import TimeoutError as NatsTimeout

from command.infra.eventlog import EventLog
from consumers.durable_consumer import durable, fetch, in_order


async def test_batches_arrive_in_order_and_an_idle_pull_times_out(eventlog: EventLog) -> None:
    for i in range(300):
        await eventlog.js.publish(f"muster.events.s{i % 3}._site", str(i).encode())
    sub = await durable(eventlog, "puller-test", after=0)
    with pytest.raises(NatsTimeout):  # nothing past the end: the pull ends, no message
        seen: list[int] = []
        delivered = 0
        while True:
            msgs = await sub.fetch(128, timeout=0.5)
            assert 0 < len(msgs) <= 128
            delivered = in_order(delivered, msgs)
            seen += [int(m.data) for m in msgs]
            await msgs[-1].ack()
    assert seen == list(range(300))

    async def later() -> None:  # a message published while a pull waits ends that wait
        await asyncio.sleep(0.2)
        await eventlog.js.publish("muster.events.s0._site", b"300")

    task = asyncio.create_task(later())
    msgs = await fetch(sub, 128, timeout=2.0)
    await task
    assert [int(m.data) for m in msgs] == [300] and in_order(delivered, msgs) == 301
    await sub.unsubscribe()
