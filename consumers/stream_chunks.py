"""The whole stream in big chunks, for a rebuild: pulled by the projector's durable consumer
in batches of thousands (not an ordered consumer's queue, a put and a get per event), each chunk
handed over once, so the next is pulled while the last is folded and written.
"""

import asyncio
import contextlib

from command.infra.eventlog import EventLog
from consumers.durable_consumer import durable, fetch, in_order

Chunks = asyncio.Queue[list[tuple[int, bytes]] | Exception]
WAIT_S = 30.0  # no event within this: the stream is not what its last seq said


async def pull(log_: EventLog, name: str, end: int, chunk: int, out: Chunks) -> None:
    """Seqs 1..`end` in lists of `chunk`, pulled as the projector pulls, in big batches; what
    stops it goes into `out` too, so the rebuild fails rather than waits."""
    try:
        await _pull(log_, name, end, chunk, out)
    except Exception as exc:
        await out.put(exc)


async def _pull(log_: EventLog, name: str, end: int, chunk: int, out: Chunks) -> None:
    if end < 1:
        return
    sub = await durable(log_, name, 0)
    delivered, items = 0, []
    try:
        while True:
            msgs = await fetch(sub, chunk, timeout=WAIT_S)
            if not msgs:
                raise TimeoutError(f"no event of the stream after {delivered} within "
                                   f"{WAIT_S:g} s; it ends at seq {end}")
            delivered = in_order(delivered, msgs)
            items += [(m.metadata.sequence.stream, m.data) for m in msgs]
            last = items[-1][0]
            if len(items) >= chunk or last >= end:
                await msgs[-1].ack()  # AckPolicy.ALL: flow control, the position is in PostgreSQL
                await out.put([item for item in items if item[0] <= end])
                items = []
            if last >= end:
                return
    finally:
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
        with contextlib.suppress(Exception):  # the projector makes its own when it starts
            await log_.js.delete_consumer(log_.stream, name)
