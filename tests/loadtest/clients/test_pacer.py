"""The open-loop pacer: starts on schedule, records failures as data, and never hangs."""

import asyncio
import time

from loadtest.clients.pacer import open_loop


async def test_operations_start_on_schedule_and_keep_their_outcome() -> None:
    async def op(i: int) -> int:
        if i == 3:
            raise ValueError("refused")
        return i * 2

    started = time.perf_counter()
    samples = await open_loop(10, rate=200.0, concurrency=4, op=op, deadline_s=5.0)
    assert [s.value for s in samples] == [0, 2, 4, None, 8, 10, 12, 14, 16, 18]
    assert samples[3].error == "ValueError"
    assert all(s.started for s in samples)
    assert samples[-1].start - started >= 9 / 200  # paced, not all at once


async def test_a_hung_operation_is_cut_at_the_deadline() -> None:
    async def op(i: int) -> int:
        await asyncio.sleep(0 if i else 60)
        return i

    started = time.perf_counter()
    samples = await open_loop(3, rate=100.0, concurrency=2, op=op, deadline_s=0.3)
    assert time.perf_counter() - started < 5
    assert samples[0].error == "deadline" and samples[0].value is None
    assert [s.value for s in samples[1:]] == [1, 2]
